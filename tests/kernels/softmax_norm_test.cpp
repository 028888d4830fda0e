// tests/kernels/softmax_norm_test.cpp — softmax, log-softmax, LayerNorm and RMSNorm against their
// float64 twins on every target, at awkward row lengths, plus the numerically nasty rows.
#include <limits>

#include "kernels/kernel_test_util.h"
#include "kernels/norm.h"
#include "kernels/softmax.h"

namespace attn::kernels {
namespace {
using test::all_close;
using test::for_each_target;
using test::kAwkwardSizes;
using test::random_floats;

constexpr float kInf = std::numeric_limits<float>::infinity();

void check_softmax_pair(const std::vector<float>& x, int64_t rows, int64_t n) {
  std::vector<float> got(x.size()), want(x.size());
  softmax_rows(x.data(), got.data(), rows, n);
  ref::softmax_rows(x.data(), want.data(), rows, n);
  EXPECT_TRUE(all_close(got, want, 1e-7, 2e-6)) << "softmax n=" << n;
  log_softmax_rows(x.data(), got.data(), rows, n);
  ref::log_softmax_rows(x.data(), want.data(), rows, n);
  EXPECT_TRUE(all_close(got, want, 2e-6, 2e-6)) << "log_softmax n=" << n;
}

TEST(Softmax, MatchesReferenceAtAwkwardSizes) {
  for_each_target([] {
    for (int64_t n : kAwkwardSizes) check_softmax_pair(random_floats(3 * n, -8, 8, 7), 3, n);
    check_softmax_pair(random_floats(64 * 300, -8, 8, 8), 64, 300);  // threaded
  });
}

TEST(Softmax, HugeLogitsDoNotOverflow) {
  for_each_target([] {
    for (int64_t n : kAwkwardSizes) {
      auto x = random_floats(n, -1e4f, 1e4f, 9);
      x[0] = 1e4f;
      if (n > 1) x[n - 1] = -1e4f;
      std::vector<float> y(n);
      softmax_rows(x.data(), y.data(), 1, n);
      double s = 0;
      for (float v : y) {
        ASSERT_TRUE(std::isfinite(v));
        s += v;
      }
      EXPECT_NEAR(s, 1.0, 1e-5);
      check_softmax_pair(x, 1, n);
    }
  });
}

TEST(Softmax, MaskedRows) {
  for_each_target([] {
    for (int64_t n : kAwkwardSizes) {
      // Row 0 all -inf (fully masked), row 1 half -inf, row 2 all equal.
      std::vector<float> x(3 * n, 0.5f);
      for (int64_t i = 0; i < n; ++i) x[i] = -kInf;
      for (int64_t i = 0; i < n; i += 2) x[n + i] = -kInf;
      std::vector<float> y(3 * n);
      softmax_rows(x.data(), y.data(), 3, n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], 0.0f) << "fully masked row must be zeros";
      for (int64_t i = 0; i < n; i += 2) ASSERT_EQ(y[n + i], 0.0f);
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[2 * n + i], 1.0 / n, 1e-6);
      log_softmax_rows(x.data(), y.data(), 3, n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], -kInf);
      check_softmax_pair(x, 3, n);
    }
  });
}

TEST(Softmax, NanRowStaysNan) {
  for_each_target([] {
    auto x = random_floats(2 * 37, -1, 1, 4);
    x[5] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> y(x.size());
    softmax_rows(x.data(), y.data(), 2, 37);
    for (int i = 0; i < 37; ++i) ASSERT_TRUE(std::isnan(y[i])) << i;
    for (int i = 37; i < 74; ++i) ASSERT_FALSE(std::isnan(y[i])) << i;
  });
}

TEST(LayerNorm, MatchesReference) {
  for_each_target([] {
    for (int64_t C : kAwkwardSizes) {
      const int64_t rows = 5;
      auto x = random_floats(rows * C, -3, 3, 21);
      for (int64_t c = 0; c < C; ++c) x[C + c] += 1000.0f;  // a large common offset in row 1
      const auto w = random_floats(C, 0.5f, 1.5f, 22), b = random_floats(C, -1, 1, 23);
      std::vector<float> y(rows * C), y_ref(rows * C), m(rows), m_ref(rows), r(rows), r_ref(rows);
      layer_norm_rows(x.data(), w.data(), b.data(), y.data(), m.data(), r.data(), rows, C, 1e-5f);
      ref::layer_norm_rows(x.data(), w.data(), b.data(), y_ref.data(), m_ref.data(), r_ref.data(), rows, C, 1e-5f);
      SCOPED_TRACE("C=" + std::to_string(C));
      // Row 1's offset of 1000 costs f32 input rounding (ulp 6e-5) that the float64 twin sees too,
      // so the check is on the output's absolute scale.
      EXPECT_TRUE(all_close(y, y_ref, 2e-4, 1e-5));
      EXPECT_TRUE(all_close(m, m_ref, 1e-5, 1e-6));
      EXPECT_TRUE(all_close(r, r_ref, 1e-6, 5e-5));
      // Without affine parameters and statistics.
      layer_norm_rows(x.data(), nullptr, nullptr, y.data(), nullptr, nullptr, rows, C, 1e-5f);
      ref::layer_norm_rows(x.data(), nullptr, nullptr, y_ref.data(), nullptr, nullptr, rows, C, 1e-5f);
      EXPECT_TRUE(all_close(y, y_ref, 2e-4, 1e-5));
    }
  });
}

TEST(LayerNorm, ConstantRowGivesBias) {
  for_each_target([] {
    std::vector<float> x(129, 3.0f), b(129, 0.25f), y(129);
    layer_norm_rows(x.data(), nullptr, b.data(), y.data(), nullptr, nullptr, 1, 129, 1e-5f);
    for (float v : y) ASSERT_EQ(v, 0.25f);
  });
}

TEST(RmsNorm, MatchesReference) {
  for_each_target([] {
    for (int64_t C : kAwkwardSizes) {
      const int64_t rows = 4;
      const auto x = random_floats(rows * C, -3, 3, 31), w = random_floats(C, 0.5f, 1.5f, 32);
      std::vector<float> y(rows * C), y_ref(rows * C), r(rows), r_ref(rows);
      rms_norm_rows(x.data(), w.data(), y.data(), r.data(), rows, C, 1e-6f);
      ref::rms_norm_rows(x.data(), w.data(), y_ref.data(), r_ref.data(), rows, C, 1e-6f);
      SCOPED_TRACE("C=" + std::to_string(C));
      EXPECT_TRUE(all_close(y, y_ref, 1e-6, 1e-5));
      EXPECT_TRUE(all_close(r, r_ref, 0, 1e-5));
      rms_norm_rows(x.data(), nullptr, y.data(), nullptr, rows, C, 1e-6f);
      ref::rms_norm_rows(x.data(), nullptr, y_ref.data(), nullptr, rows, C, 1e-6f);
      EXPECT_TRUE(all_close(y, y_ref, 1e-6, 1e-5));
    }
  });
}

}  // namespace
}  // namespace attn::kernels
