#include <attn/dtype.h>
#include <attn/rng.h>
#include <attn/threads.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace attn {
namespace {

TEST(Philox, KnownAnswerFromRandom123) {
  // Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
  auto r = philox4x32(0, 0, 0);
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
  r = philox4x32(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull);
  EXPECT_EQ(r[0], 0x408f276du);
  EXPECT_EQ(r[1], 0x41c83b0eu);
  EXPECT_EQ(r[2], 0xa20bc7c6u);
  EXPECT_EQ(r[3], 0x6d5451fdu);
}

TEST(Rng, SameSeedSameNumbersWhateverTheThreadCount) {
  const int saved = num_threads();
  set_num_threads(1);
  Rng a(42);
  Tensor x = Tensor::empty({1000, 33});
  a.normal_(x, 0.0f, 1.0f);
  set_num_threads(2);
  Rng b(42);
  Tensor y = Tensor::empty({1000, 33});
  b.normal_(y, 0.0f, 1.0f);
  set_num_threads(saved);
  EXPECT_EQ(x.to_vector(), y.to_vector());
  EXPECT_EQ(a.state().offset, b.state().offset);
  EXPECT_NE(a.uniform(), Rng(43).uniform());
}

// parallel_for called from inside a parallel region runs every chunk on the calling thread.
TEST(ParallelFor, InsideAParallelRegionCoversEveryChunkOnce) {
  const int64_t n = 1000;
  std::vector<std::vector<int>> hits(2, std::vector<int>(n, 0));
#pragma omp parallel for num_threads(2)
  for (int t = 0; t < 2; ++t)
    parallel_for(n, 7, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++hits[t][i];
    });
  for (const auto& h : hits) EXPECT_EQ(h, std::vector<int>(n, 1));
}

TEST(Rng, MomentsAndRanges) {
  Rng r(7);
  Tensor x = Tensor::empty({100000});
  r.normal_(x, 1.0f, 2.0f);
  double s = 0, s2 = 0;
  for (float v : x.to_vector()) {
    s += v;
    s2 += v * v;
  }
  const double mean = s / 1e5, var = s2 / 1e5 - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.03);
  EXPECT_NEAR(var, 4.0, 0.1);
  r.uniform_(x, -1.0f, 3.0f);
  for (float v : x.to_vector()) ASSERT_TRUE(v >= -1.0f && v < 3.0f);
  for (int i = 0; i < 1000; ++i) {
    const int64_t k = r.randint(-3, 4);
    ASSERT_TRUE(k >= -3 && k < 4);
  }
}

TEST(Rng, StateRoundTripsExactly) {
  Rng r(5);
  r.uniform();
  r.normal();
  const RngState s = r.state();
  const float next = r.uniform();
  Rng again(s);
  EXPECT_EQ(again.uniform(), next);
}

TEST(DType, HalfConversionsRoundToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds up to inf
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(2.98e-08f), 0x0000);               // below half of it
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);       // tie -> even
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);       // tie -> even (up)
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  // Every finite half round-trips exactly through f32.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0f + 3.0f / 256), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

}  // namespace
}  // namespace attn
