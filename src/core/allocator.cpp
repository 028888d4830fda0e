// core/allocator.cpp — the host block cache (see attn/allocator.h).
#include <attn/allocator.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace attn {

namespace {
constexpr size_t kAlignment = 64;
constexpr size_t kMinCached = size_t{256} << 10;

// bytes rounded up to m·2^e with m in [8, 16): 8 classes per power of two.
size_t size_class(size_t bytes) {
  int e = 0;
  while ((bytes >> e) >= 16) ++e;
  const size_t step = size_t{1} << e;
  return (bytes + step - 1) / step * step;
}

size_t default_limit() {
#if defined(__SANITIZE_ADDRESS__)
  return 0;  // under ASan every block goes back to malloc, so use-after-free is still caught
#endif
  if (const char* env = std::getenv("ATTN_HOST_CACHE_MB")) {  // a number of MiB; anything else is ignored
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') return static_cast<size_t>(mb) << 20;
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const size_t ram = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
  return std::min(size_t{2} << 30, ram / 8);
}

struct HostCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free;  // size class -> blocks
  HostCacheStats stats{.limit_bytes = default_limit()};

  void trim_to(size_t limit) {  // callers hold the mutex
    for (auto it = free.begin(); it != free.end() && stats.held_bytes > limit;) {
      while (!it->second.empty() && stats.held_bytes > limit) {
        std::free(it->second.back());
        it->second.pop_back();
        stats.held_bytes -= it->first;
      }
      it = it->second.empty() ? free.erase(it) : std::next(it);
    }
  }
};

// Never destroyed: tensors in static objects may be freed after other statics are gone.
HostCache& cache() {
  static HostCache* c = new HostCache;
  return *c;
}

constexpr size_t kHugePage = size_t{2} << 20;

void* malloc_aligned(size_t bytes) {
  if (bytes >= kHugePage) {  // whole, aligned huge pages, so that the hint can cover every byte
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
#if defined(MADV_HUGEPAGE)
    if (p != nullptr) ::madvise(p, rounded, MADV_HUGEPAGE);  // a hint: an error changes nothing
#endif
    return p;
  }
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  return std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
}
}  // namespace

namespace detail {
void* host_alloc(size_t bytes) {
  if (bytes < kMinCached) return malloc_aligned(bytes);
  const size_t cls = size_class(bytes);
  HostCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free.find(cls);
    if (it != c.free.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.held_bytes -= cls;
      ++c.stats.hits;
      return p;
    }
    ++c.stats.misses;
  }
  return malloc_aligned(cls);
}

void host_free(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes >= kMinCached) {
    const size_t cls = size_class(bytes);
    HostCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.stats.held_bytes + cls <= c.stats.limit_bytes) {
      c.free[cls].push_back(p);
      c.stats.held_bytes += cls;
      return;
    }
  }
  std::free(p);
}
}  // namespace detail

HostCacheStats host_cache_stats() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void set_host_cache_limit(size_t bytes) {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.limit_bytes = bytes;
  c.trim_to(bytes);
}

void host_cache_release() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.trim_to(0);
}

}  // namespace attn
