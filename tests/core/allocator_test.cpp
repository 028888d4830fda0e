// tests/core/allocator_test.cpp — the host block cache: reuse of freed large blocks by size class,
// the limit, release, and alignment; small blocks bypass it.
#include <attn/allocator.h>
#include <attn/tensor.h>
#include <gtest/gtest.h>

#include <cstdint>

namespace attn {
namespace {

class HostCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_limit_ = host_cache_stats().limit_bytes;
    host_cache_release();
    set_host_cache_limit(size_t{64} << 20);
  }
  void TearDown() override { set_host_cache_limit(saved_limit_); }
  size_t saved_limit_ = 0;
};

TEST_F(HostCacheTest, AFreedLargeBlockIsHandedOutAgain) {
  const HostCacheStats before = host_cache_stats();
  const void* first = nullptr;
  {
    Tensor t = Tensor::empty({1000, 1000});  // 4 MB
    first = t.raw_data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  }
  EXPECT_GE(host_cache_stats().held_bytes, size_t{4000000});
  Tensor again = Tensor::empty({1000, 999});  // 3.996 MB: same size class
  EXPECT_EQ(again.raw_data(), first);
  const HostCacheStats after = host_cache_stats();
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_EQ(after.misses, before.misses + 1);
  EXPECT_EQ(after.held_bytes, 0u);
  Tensor z = Tensor::zeros({1000, 999});  // a reused block still comes back zeroed by zeros()
  EXPECT_EQ(z.get({999, 998}), 0.0);
}

// Blocks of 2 MiB and more start on a 2 MiB boundary (whole huge pages for the MADV_HUGEPAGE hint),
// with or without the cache; smaller ones on 64 bytes.
TEST_F(HostCacheTest, LargeBlocksAreHugePageAligned) {
  for (size_t limit : {size_t{64} << 20, size_t{0}}) {
    set_host_cache_limit(limit);
    for (int64_t floats : {int64_t{1} << 19, int64_t{3} << 19, int64_t{3145728} + 7}) {  // 2, 6, 12+ MiB
      Tensor t = Tensor::empty({floats});
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % (uintptr_t{2} << 20), 0u) << floats << " floats";
      t.fill(1.0);  // every byte of the block is usable
      EXPECT_EQ(t.get({floats - 1}), 1.0);
    }
    Tensor small = Tensor::empty({300000});  // 1.2 MB
    EXPECT_EQ(reinterpret_cast<uintptr_t>(small.raw_data()) % 64, 0u);
  }
}

TEST_F(HostCacheTest, SmallBlocksBypassTheCache) {
  const HostCacheStats before = host_cache_stats();
  { Tensor t = Tensor::empty({1000}); }
  const HostCacheStats after = host_cache_stats();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.held_bytes, 0u);
}

TEST_F(HostCacheTest, LimitAndReleaseBoundWhatIsHeld) {
  set_host_cache_limit(size_t{6} << 20);
  {
    Tensor a = Tensor::empty({1 << 20}), b = Tensor::empty({1 << 20});  // 4 MiB each
  }
  EXPECT_EQ(host_cache_stats().held_bytes, size_t{4} << 20);  // the second one did not fit
  set_host_cache_limit(size_t{1} << 20);                      // lowering the limit frees blocks
  EXPECT_EQ(host_cache_stats().held_bytes, 0u);
  set_host_cache_limit(size_t{64} << 20);
  { Tensor a = Tensor::empty({1 << 20}); }
  EXPECT_GT(host_cache_stats().held_bytes, 0u);
  host_cache_release();
  EXPECT_EQ(host_cache_stats().held_bytes, 0u);
  set_host_cache_limit(0);  // off
  { Tensor a = Tensor::empty({1 << 20}); }
  EXPECT_EQ(host_cache_stats().held_bytes, 0u);
}

}  // namespace
}  // namespace attn
