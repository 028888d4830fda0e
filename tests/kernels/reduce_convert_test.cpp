// tests/kernels/reduce_convert_test.cpp — axis reductions, the thread-count-independent global sum,
// embedding gather and the bf16/f16 conversions, against their twins on every target.
#include <attn/dtype.h>
#include <attn/threads.h>

#include <cstring>
#include <limits>

#include "kernels/convert.h"
#include "kernels/embedding.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reduce.h"

namespace attn::kernels {
namespace {
using test::all_close;
using test::for_each_target;
using test::random_floats;

TEST(Reduce, AxisMatchesReference) {
  struct Shape3 {
    int64_t outer, R, inner;
  };
  const Shape3 shapes[] = {{1, 1, 1}, {3, 7, 1}, {2, 129, 1}, {4, 1000, 1}, {1, 7, 129}, {3, 5, 7},
                           {2, 129, 33}, {1, 1000, 17}, {64, 300, 1}, {8, 40, 300}, {3, 700, 48}};
  for_each_target([&] {
    for (const auto& s : shapes) {
      const auto x = random_floats(s.outer * s.R * s.inner, -2, 2, static_cast<uint32_t>(s.R + s.inner));
      for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax}) {
        SCOPED_TRACE(std::to_string(s.outer) + "x" + std::to_string(s.R) + "x" + std::to_string(s.inner) + " op " +
                     std::to_string(static_cast<int>(op)));
        std::vector<float> got(s.outer * s.inner), want(s.outer * s.inner);
        reduce_axis(op, x.data(), got.data(), s.outer, s.R, s.inner);
        ref::reduce_axis(op, x.data(), want.data(), s.outer, s.R, s.inner);
        // f32 summation of up to 1000 values of magnitude 2.
        EXPECT_TRUE(all_close(got, want, op == ReduceOp::kMax ? 0.0 : 2e-5 * std::sqrt(double(s.R)), 1e-6));
      }
    }
  });
}

TEST(Reduce, MaxSeesNanAndNegativeInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for_each_target([&] {
    for (int64_t R : {int64_t{1}, int64_t{7}, int64_t{129}}) {
      std::vector<float> x(R, -inf), y(1);
      reduce_axis(ReduceOp::kMax, x.data(), y.data(), 1, R, 1);
      EXPECT_EQ(y[0], -inf);
      x[R - 1] = nan;
      reduce_axis(ReduceOp::kMax, x.data(), y.data(), 1, R, 1);
      EXPECT_TRUE(std::isnan(y[0])) << R;
      std::vector<float> cols_out(R);
      reduce_axis(ReduceOp::kMax, x.data(), cols_out.data(), 1, 1, R);  // as inner: only the last is NaN
      EXPECT_TRUE(std::isnan(cols_out[R - 1]));
      if (R > 1) EXPECT_EQ(cols_out[0], -inf);
    }
    std::vector<float> cols = {1, nan, 3, 4, 5, 6}, out(3);  // [2,3] reduced over rows
    reduce_axis(ReduceOp::kMax, cols.data(), out.data(), 1, 2, 3);
    EXPECT_EQ(out[0], 4.0f);
    EXPECT_TRUE(std::isnan(out[1]));
    EXPECT_EQ(out[2], 6.0f);
  });
}

TEST(Reduce, SumAllMatchesReferenceAndIgnoresThreadCount) {
  const int saved = num_threads();
  for_each_target([] {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{129}, int64_t{4097}, int64_t{100003}}) {
      const auto x = random_floats(n, -1, 1, static_cast<uint32_t>(n));
      set_num_threads(1);
      const float one = sum_all(x.data(), n);
      set_num_threads(2);
      const float two = sum_all(x.data(), n);
      set_num_threads(3);
      const float three = sum_all(x.data(), n);
      EXPECT_EQ(std::memcmp(&one, &two, 4), 0) << n;
      EXPECT_EQ(std::memcmp(&one, &three, 4), 0) << n;
      EXPECT_NEAR(one, ref::sum_all(x.data(), n), 1e-5 * std::sqrt(double(n)));
    }
  });
  set_num_threads(saved);
}

// Column sums over many rows (a bias gradient) run in row chunks on the threads: the same bits for any
// thread count, and the mean is the sum scaled.
TEST(Reduce, ColumnSumsIgnoreThreadCount) {
  const int saved = num_threads();
  for_each_target([] {
    const int64_t R = 2048, inner = 1536 + 5;
    const auto x = random_floats(R * inner, -1, 1, 77);
    std::vector<float> one(inner), two(inner), three(inner), mean(inner);
    set_num_threads(1);
    reduce_axis(ReduceOp::kSum, x.data(), one.data(), 1, R, inner);
    set_num_threads(2);
    reduce_axis(ReduceOp::kSum, x.data(), two.data(), 1, R, inner);
    reduce_axis(ReduceOp::kMean, x.data(), mean.data(), 1, R, inner);
    set_num_threads(3);
    reduce_axis(ReduceOp::kSum, x.data(), three.data(), 1, R, inner);
    EXPECT_EQ(std::memcmp(one.data(), two.data(), inner * 4), 0);
    EXPECT_EQ(std::memcmp(one.data(), three.data(), inner * 4), 0);
    for (int64_t i = 0; i < inner; ++i) EXPECT_EQ(mean[i], one[i] * (1.0f / R)) << i;
  });
  set_num_threads(saved);
}

TEST(Embedding, GatherAndBadIds) {
  const int64_t V = 13, C = 129;
  const auto table = random_floats(V * C, -1, 1, 41);
  const std::vector<int64_t> ids = {0, 12, 5, 5, 7, 1, 0};
  const std::vector<int32_t> ids32(ids.begin(), ids.end());
  std::vector<float> got(ids.size() * C), want(ids.size() * C);
  embedding_gather_i64(ids.data(), 7, table.data(), V, C, got.data());
  ref::embedding_gather_i64(ids.data(), 7, table.data(), V, C, want.data());
  EXPECT_TRUE(all_close(got, want, 0, 0));
  embedding_gather_i32(ids32.data(), 7, table.data(), V, C, got.data());
  EXPECT_TRUE(all_close(got, want, 0, 0));
  EXPECT_EQ(embedding_find_bad_id_i64(ids.data(), 7, V), -1);
  const std::vector<int64_t> bad = {1, 2, 13, -1};
  EXPECT_EQ(embedding_find_bad_id_i64(bad.data(), 4, V), 2);
  const std::vector<int32_t> bad32 = {1, -1};
  EXPECT_EQ(embedding_find_bad_id_i32(bad32.data(), 2, V), 1);
}

// Random bit patterns cover normals, subnormals, Inf and NaN in both directions.
std::vector<float> nasty_floats(int64_t n) {
  auto v = random_floats(n, -70000, 70000, 51);
  std::mt19937 gen(52);
  for (int64_t i = 0; i < n; i += 3) {
    uint32_t u = gen();
    std::memcpy(&v[i], &u, 4);
  }
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 65504.0f, 65520.0f, 6e-8f, 1e-40f, 3.0e38f};
  for (size_t i = 0; i < std::size(specials) && static_cast<int64_t>(i) < n; ++i) v[i] = specials[i];
  return v;
}

TEST(Convert, Bf16AndF16BitIdenticalToScalar) {
  for_each_target([] {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{129}, int64_t{1000}, int64_t{70001}}) {
      const auto x = nasty_floats(n);
      std::vector<uint16_t> h(n), h_ref(n);
      std::vector<float> back(n), back_ref(n);
      f32_to_bf16(x.data(), h.data(), n);
      ref::f32_to_bf16(x.data(), h_ref.data(), n);
      ASSERT_EQ(h, h_ref) << "f32->bf16 n=" << n;
      bf16_to_f32(h.data(), back.data(), n);
      ref::bf16_to_f32(h_ref.data(), back_ref.data(), n);
      ASSERT_EQ(std::memcmp(back.data(), back_ref.data(), 4 * n), 0) << "bf16->f32 n=" << n;
      f32_to_f16(x.data(), h.data(), n);
      ref::f32_to_f16(x.data(), h_ref.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        // NaN payloads may differ between hardware and software conversion; NaN-ness may not.
        const bool nan = (h_ref[i] & 0x7fff) > 0x7c00;
        if (nan) ASSERT_GT(h[i] & 0x7fff, 0x7c00) << i;
        else ASSERT_EQ(h[i], h_ref[i]) << "f32->f16 at " << i << " x=" << x[i];
      }
      f16_to_f32(h_ref.data(), back.data(), n);
      ref::f16_to_f32(h_ref.data(), back_ref.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(back_ref[i])) ASSERT_TRUE(std::isnan(back[i]));
        else ASSERT_EQ(back[i], back_ref[i]) << "f16->f32 at " << i;
      }
    }
  });
}

// The fused rounding + column sum: y bit-identical to f32_to_bf16, colsum within f32 summation error
// of the float64 sums (|Δ| <= rows·2⁻²³·Σ|x| per column, loose but far below a wrong-row error), and
// the same bits on 1 and 2 threads.
TEST(Convert, Bf16ColsumMatchesTwinAndThreadCount) {
  struct Rc {
    int64_t rows, cols;
  };
  const Rc shapes[] = {{1, 1}, {3, 17}, {64, 16}, {65, 33}, {200, 129}, {2048, 40}};
  for_each_target([&] {
    for (const Rc& s : shapes) {
      SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols));
      const int64_t n = s.rows * s.cols;
      const auto x = random_floats(n, -3, 3, static_cast<uint32_t>(n));
      std::vector<uint16_t> y(n), y_ref(n);
      std::vector<float> sum(s.cols), sum1(s.cols);
      std::vector<double> sum_ref(s.cols);
      f32_to_bf16_colsum(x.data(), y.data(), sum.data(), s.rows, s.cols);
      ref::f32_to_bf16_colsum(x.data(), y_ref.data(), sum_ref.data(), s.rows, s.cols);
      ASSERT_EQ(y, y_ref);
      for (int64_t c = 0; c < s.cols; ++c) {
        double abs_sum = 0;
        for (int64_t r = 0; r < s.rows; ++r) abs_sum += std::fabs(x[r * s.cols + c]);
        ASSERT_NEAR(sum[c], sum_ref[c], 1e-6 + s.rows * 0x1p-23 * abs_sum) << "column " << c;
      }
      const int saved = num_threads();
      set_num_threads(1);
      f32_to_bf16_colsum(x.data(), y.data(), sum1.data(), s.rows, s.cols);
      set_num_threads(saved);
      ASSERT_EQ(std::memcmp(sum.data(), sum1.data(), 4 * s.cols), 0);
    }
  });
}

}  // namespace
}  // namespace attn::kernels
