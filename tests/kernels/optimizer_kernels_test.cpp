// tests/kernels/optimizer_kernels_test.cpp — the SIMD AdamW update and Σg² against their float64
// twins on every target, at sizes that hit the vector tails, the chunk edges and the threaded path;
// Σg² must give the same bits for any thread count and carry NaN/inf.
#include <attn/threads.h>

#include <limits>

#include "kernels/kernel_test_util.h"
#include "kernels/optimizer.h"

namespace attn::kernels {
namespace {
using test::for_each_target;
using test::random_floats;

constexpr double kEps = 1.0 / (1 << 24);  // f32 unit roundoff
const int64_t kSizes[] = {0, 1, 15, 17, 1000, 4097, 70000};

// Tolerance per element, from the terms in double: m and v are one FMA and one product (3ε of their
// terms); p = p·decay − step·m/(√v/√bc2 + eps) rounds p·decay, the subtraction and decay itself
// (3ε·|p|), and the update term through ~6 operations (10ε·|term|).
// Once with the gradient as is and once scaled (clipping's factor folded into the update).
TEST(OptimizerKernels, AdamWMatchesReference) {
  for (float grad_scale : {1.0f, 0.37f}) {
  SCOPED_TRACE("grad_scale " + std::to_string(grad_scale));
  const AdamWStep s{.lr = 3e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f,
                    .bias_correction1 = 0.271f, .bias_correction2_sqrt = 0.3122f, .grad_scale = grad_scale};
  for_each_target([&] {
    for (int64_t n : kSizes) {
      SCOPED_TRACE("n=" + std::to_string(n));
      const auto p0 = random_floats(n, -2, 2, 1), g = random_floats(n, -1, 1, 2);
      const auto m0 = random_floats(n, -0.1f, 0.1f, 3);
      auto v0 = random_floats(n, 0, 0.01f, 4);
      if (n > 3) v0[3] = 0.0f;  // a fresh second moment: the update is m/eps-dominated
      auto p = p0, m = m0, v = v0, rp = p0, rm = m0, rv = v0;
      adamw_update(p.data(), g.data(), m.data(), v.data(), n, s);
      ref::adamw_update(rp.data(), g.data(), rm.data(), rv.data(), n, s);
      for (int64_t i = 0; i < n; ++i) {
        const double gi = double(g[i]) * grad_scale;  // one more rounding (ε·|g|) when scaled
        const double tm = 4 * kEps * (s.beta1 * std::fabs(m0[i]) + (1 - s.beta1) * std::fabs(gi));
        const double tv = 5 * kEps * (s.beta2 * v0[i] + (1 - s.beta2) * gi * gi);
        const double denom = std::sqrt(rv[i]) / s.bias_correction2_sqrt + s.eps;
        const double term = double(s.lr) / s.bias_correction1 * rm[i] / denom;
        const double tp = 3 * kEps * std::fabs(p0[i]) + 10 * kEps * std::fabs(term);
        ASSERT_NEAR(m[i], rm[i], tm) << i;
        ASSERT_NEAR(v[i], rv[i], tv) << i;
        ASSERT_NEAR(p[i], rp[i], tp) << i;
      }
    }
  });
  }
}

// Σg² of positive terms: |error| <= n·2⁻⁵³·Σ for any summation order (the worst-case bound).
TEST(OptimizerKernels, SumSquaresMatchesReference) {
  for_each_target([] {
    for (int64_t n : kSizes) {
      auto g = random_floats(n, -3, 3, static_cast<uint32_t>(n));
      for (int64_t i = 0; i < n; i += 7) g[i] *= 1e-20f;  // magnitudes far apart
      for (int64_t i = 3; i < n; i += 11) g[i] *= 1e15f;
      const double got = sum_squares(g.data(), n), want = ref::sum_squares(g.data(), n);
      EXPECT_NEAR(got, want, static_cast<double>(n) * 0x1p-53 * want) << "n=" << n;
    }
    std::vector<float> g(5000, 1.0f);
    EXPECT_EQ(sum_squares(g.data(), 5000), 5000.0);
    g[4500] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(sum_squares(g.data(), 5000)));
    g[4500] = std::numeric_limits<float>::infinity();
    EXPECT_EQ(sum_squares(g.data(), 5000), std::numeric_limits<double>::infinity());
  });
}

TEST(OptimizerKernels, SumSquaresIndependentOfThreadCount) {
  const auto g = random_floats(100003, -1, 1, 9);  // 25 chunks, above the parallel threshold
  const int saved = num_threads();
  std::vector<double> sums;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    sums.push_back(sum_squares(g.data(), static_cast<int64_t>(g.size())));
  }
  set_num_threads(saved);
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(sums[0], sums[2]);
}

}  // namespace
}  // namespace attn::kernels
