// attn/allocator.h — the host block cache behind every owned tensor storage.
//
//   attn::HostCacheStats s = attn::host_cache_stats();   // hits, misses, bytes held for reuse
//   attn::set_host_cache_limit(0);                        // off: every block goes back to malloc
//   attn::host_cache_release();                           // hand the held blocks back now
//
// Training allocates the same large activations every step. Fresh blocks from malloc come from
// mmap and pay a page fault per 4 KiB on first touch (≈ 100 MB per step for nanoGPT's 6/6/384
// model: 5–10 % of the step). Blocks of at least 256 KiB are therefore kept on free lists keyed by
// a size class (sizes rounded up to 8 steps per power of two, ≤ 12.5 % slack) and handed out again,
// up to a limit on the bytes held: ATTN_HOST_CACHE_MB, default min(2 GiB, 1/8 of RAM). A block freed
// when the cache is full goes straight back to malloc (always under ASan, whose default limit is 0,
// so use-after-free stays visible). Thread-safe; blocks are 64-byte aligned, and blocks of at least
// 2 MiB are 2 MiB-aligned whole huge pages with madvise(MADV_HUGEPAGE): where transparent huge pages
// are "madvise" (Debian's default) a GEMM operand or an AdamW state then walks 512× fewer pages and
// TLB entries (a 6/6/384 training step ≈ 2.5 % faster); elsewhere the hint is ignored.
#pragma once

#include <cstddef>
#include <cstdint>

namespace attn {

struct HostCacheStats {
  int64_t hits = 0;         // allocations served from the cache
  int64_t misses = 0;       // cacheable allocations that went to malloc
  size_t held_bytes = 0;    // bytes in free blocks waiting for reuse
  size_t limit_bytes = 0;   // most bytes it will hold
};

HostCacheStats host_cache_stats();
void set_host_cache_limit(size_t bytes);  // also releases blocks above the new limit
void host_cache_release();                // frees every held block

namespace detail {
void* host_alloc(size_t bytes);            // 64-byte aligned; nullptr when out of memory
void host_free(void* p, size_t bytes);     // bytes: the size given to host_alloc
}  // namespace detail

}  // namespace attn
