// tests/kernels/dropout_kernel_test.cpp — SIMD element dropout against its scalar definition
// (ref::dropout_apply, straight from philox4x32) on every target: same bits at sizes that hit the
// group and vector tails and the threaded path, any thread count, in place; and the draws behave
// like a fair coin with the right bias.
#include <attn/rng.h>
#include <attn/threads.h>

#include <cmath>

#include "kernels/dropout.h"
#include "kernels/kernel_test_util.h"

namespace attn::kernels {
namespace {
using test::for_each_target;
using test::random_floats;

const int64_t kSizes[] = {0, 1, 7, 31, 32, 33, 1000, 16385, 70001};

TEST(DropoutKernel, MatchesTheScalarDefinitionOnEveryTarget) {
  for_each_target([] {
    for (int64_t n : kSizes)
      for (float p : {0.1f, 1.0f / 3.0f, 0.5f, 0.9f}) {
        const auto x = random_floats(n, -2, 2, 11);
        std::vector<float> got(n), want(n);
        const uint64_t seed = 0x1234'5678'9abcULL, first = 0xffff'fff5ULL;  // counters cross 2^32
        dropout_apply(x.data(), got.data(), n, p, seed, first);
        ref::dropout_apply(x.data(), want.data(), n, p, seed, first);
        ASSERT_EQ(got, want) << "n=" << n << " p=" << p;
      }
  });
}

TEST(DropoutKernel, SameBitsForAnyThreadCountAndInPlace) {
  const int saved = num_threads();
  const int64_t n = 100003;
  const auto x = random_floats(n, -1, 1, 12);
  std::vector<float> one(n), two(n), inplace = x;
  set_num_threads(1);
  dropout_apply(x.data(), one.data(), n, 0.2f, 7, 3);
  set_num_threads(2);
  dropout_apply(x.data(), two.data(), n, 0.2f, 7, 3);
  dropout_apply(inplace.data(), inplace.data(), n, 0.2f, 7, 3);
  set_num_threads(saved);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, inplace);
}

// Kept fraction within 5 sigma of 1 - p; kept values scaled by 1/(1-p); the four words of a block
// (elements e, e+8, e+16, e+24) and neighbouring blocks are not copies of one another.
TEST(DropoutKernel, KeepsOneMinusPAndScales) {
  const int64_t n = 1 << 18;
  const std::vector<float> ones(n, 1.0f);
  std::vector<float> y(n);
  for (float p : {0.1f, 0.5f, 0.8f}) {
    dropout_apply(ones.data(), y.data(), n, p, 99, 0);
    int64_t kept = 0, same_word = 0, same_block = 0;
    for (int64_t e = 0; e < n; ++e) {
      if (y[e] != 0.0f) {
        ++kept;
        ASSERT_FLOAT_EQ(y[e], 1.0f / (1.0f - p));
      }
      if (e + 8 < n) same_word += (y[e] != 0.0f) == (y[e + 8] != 0.0f);
      if (e + 1 < n) same_block += (y[e] != 0.0f) == (y[e + 1] != 0.0f);
    }
    const double q = 1.0 - p, sigma = std::sqrt(n * q * p);
    EXPECT_NEAR(static_cast<double>(kept), n * q, 5 * sigma) << p;
    const double agree = q * q + p * p;  // P(two independent draws agree)
    EXPECT_NEAR(static_cast<double>(same_word), n * agree, 6 * std::sqrt(n * agree * (1 - agree))) << p;
    EXPECT_NEAR(static_cast<double>(same_block), n * agree, 6 * std::sqrt(n * agree * (1 - agree))) << p;
  }
}

TEST(DropoutKernel, BlocksAreEightPerStartedGroupOf32) {
  EXPECT_EQ(dropout_blocks(0), 0u);
  EXPECT_EQ(dropout_blocks(1), 8u);
  EXPECT_EQ(dropout_blocks(32), 8u);
  EXPECT_EQ(dropout_blocks(33), 16u);
  // Two calls with consecutive counter ranges never share a block: the second call's first element
  // draws from the block after the first call's last.
  const std::vector<float> ones(64, 1.0f);
  std::vector<float> a(64), b(64);
  ref::dropout_apply(ones.data(), a.data(), 64, 0.5f, 5, 0);
  dropout_apply(ones.data(), b.data(), 32, 0.5f, 5, 0);
  dropout_apply(ones.data(), b.data() + 32, 32, 0.5f, 5, dropout_blocks(32));
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace attn::kernels
