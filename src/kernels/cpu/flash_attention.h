// kernels/cpu/flash_attention.h — flash-style attention forward on the CPU (Highway SIMD, OpenMP).
//
//   attn::kernels::attention_forward_flash(p, out, lse);   // out: p.o_stride layout; lse [B,H,T] or null
//
// Never materialises T x S: query tiles of kTileRows rows stream over key tiles of kTileCols keys with
// an online softmax (running max m, running sum l, one rescale of the output accumulator per tile).
// Tiles wholly outside the causal/window/padding band are skipped; only boundary tiles are masked.
// Threads: attn::num_threads() over (batch, head, query tile), dynamically scheduled heaviest first
// (causal), each row computed by exactly one thread in a fixed order — results do not depend on the
// thread count. One Highway dispatch per call. Never throws; allocates only per-thread scratch.
#pragma once

#include "kernels/attention_params.h"

namespace attn::kernels {

inline constexpr int64_t kAttnTileRows = 64;  // query rows per work item
inline constexpr int64_t kAttnTileCols = 64;  // keys per K/V tile

void attention_forward_flash(const AttentionParams& p, float* out, float* lse);

// Exact weights exp(s_ij - lse_i) for the heads listed in `heads` (n_heads of them), recomputed tile
// by tile with the forward's own score code: weights [B, n_heads, T, S] dense. Dropout is not applied.
void attention_weights_flash(const AttentionParams& p, const float* lse, const int64_t* heads, int64_t n_heads,
                             float* weights);

}  // namespace attn::kernels
