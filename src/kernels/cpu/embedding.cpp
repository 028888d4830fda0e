// kernels/cpu/embedding.cpp — embedding gather (see kernels/embedding.h). Row copies are memcpy (already
// vectorised by libc), so this file needs no Highway dispatch. Threads over ids.
#include "kernels/embedding.h"

#include <attn/threads.h>

#include <cstring>

#include "kernels/parallel_items.h"

namespace attn::kernels {
namespace {
template <class Id>
int64_t find_bad_id(const Id* ids, int64_t n, int64_t V) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || static_cast<int64_t>(ids[i]) >= V) return i;
  return -1;
}

template <class Id>
void gather(const Id* ids, int64_t n, const float* table, int64_t C, float* out) {
  parallel_items(n, n * C >= 65536, [&](int64_t i) {
    std::memcpy(out + i * C, table + static_cast<int64_t>(ids[i]) * C, sizeof(float) * static_cast<size_t>(C));
  });
}
}  // namespace

int64_t embedding_find_bad_id_i32(const int32_t* ids, int64_t n, int64_t V) { return find_bad_id(ids, n, V); }
int64_t embedding_find_bad_id_i64(const int64_t* ids, int64_t n, int64_t V) { return find_bad_id(ids, n, V); }

void embedding_gather_i32(const int32_t* ids, int64_t n, const float* table, int64_t V, int64_t C, float* out) {
  gather(ids, n, table, C, out);
}
void embedding_gather_i64(const int64_t* ids, int64_t n, const float* table, int64_t V, int64_t C, float* out) {
  gather(ids, n, table, C, out);
}

}  // namespace attn::kernels
