// kernels/cpu/flash_attention_backward.h — FlashAttention-2-style attention backward on the CPU
// (Highway SIMD, OpenMP).
//
//   attention_forward_flash(p, out, lse);                          // the forward, same p
//   attention_backward_flash(p, out, dout, lse, dq, dk, dv);       // p.o_stride for out, dout, dq
//
// Gradients of out = attention(q, k, v) (every option of attn/attention.h) from the saved out and
// lse, with O(T) extra memory: score tiles are recomputed from lse (p = exp(s - lse)), never stored.
// Layout: out, dout [B,H,T,D] in p.o_stride, dq in p.dq_stride (default o_stride); lse [B,H,T] dense; dk, dv [B,Hkv,S,D] in p.dk_stride /
// p.dv_stride (dense when unset), summed over the H/Hkv query heads of each kv head. Every output element is overwritten.
//
// Threads own keys: work items are (batch, kv head, chunk of key tiles); an item owns its dK/dV rows
// outright and adds its dQ contributions into its chunk's own partial buffer, and the partials are
// summed in chunk order at the end. The number of chunks and their boundaries depend on the shapes
// and masks only, so results are bit-identical for every thread count. No atomics.
// Fully masked rows (lse = -inf) get zero gradients; NaN/Inf in masked K/V rows reach no gradient.
// One Highway dispatch per call. Never throws; allocates only scratch.
#pragma once

#include <vector>

#include "kernels/attention_params.h"

namespace attn::kernels {

inline constexpr int64_t kAttnBwdTileKeys = 64;  // keys per K/V tile (the dK/dV accumulators)
inline constexpr int64_t kAttnBwdTileRows = 128;  // query rows per block streamed past a K/V tile
inline constexpr int64_t kAttnBwdMaxChunks = 8;  // key chunks per (batch, kv head), at most
inline constexpr int64_t kAttnBwdPartialBytes = int64_t{256} << 20;  // dQ partials beyond one chunk's

void attention_backward_flash(const AttentionParams& p, const float* out, const float* dout, const float* lse,
                              float* dq, float* dk, float* dv);

// How many key chunks (each with its own dQ partial of B*H*T*D floats) the backward splits each
// (batch, kv head) into: a function of the shapes alone (B, H, Hkv, T, S, D), never of the threads.
// Enough for >= 16 work items, at most kAttnBwdMaxChunks, and partials within kAttnBwdPartialBytes
// (one chunk always).
int64_t attention_backward_chunks(const AttentionParams& p);

// The plan both backwards (f32 and bf16) share: lo, hi [B,T] = the structural key band of every query
// row (attention_key_band), and bounds [B, n_chunks + 1] = each batch item's kAttnBwdTileKeys-tile
// boundaries of its n_chunks chunks, splitting its visible (row, key) pairs evenly (+1 per tile so
// that empty tiles spread: causal work balances).
void attention_backward_bands(const AttentionParams& p, int64_t n_chunks, std::vector<int64_t>& lo,
                              std::vector<int64_t>& hi, std::vector<int64_t>& bounds);

// The state both backwards share in one call (read-only while the work items run, except the
// outputs); each kernel's Plan adds its dQ partials. tile_keys: the kernel's keys per K/V tile.
struct AttentionBackwardPlan {
  AttentionBackwardPlan(const AttentionParams& p, const float* out_, const float* dout_, const float* lse_,
                        float* dq_, float* dk_, float* dv_, int64_t tile_keys)
      : out(out_), dout(dout_), lse(lse_), dq(dq_), dk(dk_), dv(dv_), dqs(dq_grad_strides(p)), dks(kv_grad_strides(p, p.dk_stride)),
        dvs(kv_grad_strides(p, p.dv_stride)), n_chunks(attention_backward_chunks(p)),
        n_tiles((p.S + tile_keys - 1) / tile_keys) {}
  const float* out;
  const float* dout;
  const float* lse;
  float* dq;
  float* dk;
  float* dv;
  GradStrides dqs, dks, dvs;     // dq's, dk's and dv's [b, h, row] strides
  int64_t n_chunks, n_tiles;
  std::vector<float> delta;      // [B,H,T]
  std::vector<int64_t> lo, hi;   // [B,T]: structural key bands
  std::vector<int64_t> bounds;   // [B, n_chunks + 1]: key-tile boundaries of the chunks
};

// The flattened index (b·H + h)·T + i of the n-th of the B·H·T rows of out/dout (strides
// p.o_stride) in memory order: (b, i, h) when the heads of a time step are adjacent ([B,T,H,D] rows,
// as a transformer block's projections give them), else (b, h, i). A pass over every row (delta)
// then reads memory in sequence instead of jumping H·D floats per row.
inline int64_t attention_row_in_memory_order(const AttentionParams& p, int64_t n) {
  if (p.o_stride[1] >= p.o_stride[2]) return n;
  const int64_t b = n / (p.H * p.T), rem = n % (p.H * p.T);
  return (b * p.H + rem % p.H) * p.T + rem / p.H;
}

}  // namespace attn::kernels
