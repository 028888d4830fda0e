// kernels/embedding.h — embedding gather.
//
//   attn::kernels::embedding_gather_i64(ids, n, table, V, C, out);   // out: [n, C]
//
// Gather assumes every id is in [0, V) — ops/ checks first (embedding_find_bad_id_*) and throws with
// the id and V; the kernel never reads out of bounds for a valid id. Threads over ids.
#pragma once

#include <cstdint>

namespace attn::kernels {

// Returns the index of the first id outside [0, V), or -1 when all are valid.
int64_t embedding_find_bad_id_i32(const int32_t* ids, int64_t n, int64_t V);
int64_t embedding_find_bad_id_i64(const int64_t* ids, int64_t n, int64_t V);
void embedding_gather_i32(const int32_t* ids, int64_t n, const float* table, int64_t V, int64_t C, float* out);
void embedding_gather_i64(const int64_t* ids, int64_t n, const float* table, int64_t V, int64_t C, float* out);

namespace ref {
void embedding_gather_i64(const int64_t* ids, int64_t n, const float* table, int64_t V, int64_t C, float* out);}  // namespace ref

}  // namespace attn::kernels
