// kernels/cpu/flash_attention_bf16.h — flash attention forward and backward with bf16 products:
// the attention of MatmulPrecision::kBF16 training (PyTorch's bf16 autocast runs SDPA in bf16 too).
//
//   p.bf16_products = true;                                   // ops: the caller's matmul precision
//   if (!attention_forward_flash_bf16(p, out, lse)) attention_forward_flash(p, out, lse);
//   if (!attention_backward_flash_bf16(p, out, dout, lse, dq, dk, dv))
//     attention_backward_flash(p, out, dout, lse, dq, dk, dv);
//
// Every product (S = Qs·Kᵀ, O += P·V; dP = dO·Vᵀ, dV += Pᵀ·dO, dK += dSᵀ·Qs, dQ += dS·K) rounds its
// two operands to bf16 (round to nearest even) and accumulates in f32 with AVX512-BF16 vdpbf16ps;
// the softmax, lse, delta = <bf16(dO), out> and all accumulators stay f32 (FlashAttention on GPUs
// rounds P and dS the same way). Qs = bf16(f32(scale·q)), as the f32 kernels pre-scale.
//
// Scope — the common training case; anything else returns false, and the caller runs the f32
// kernels (which overwrite every output element):
//   * p.bf16_products set, no softcap, no ALiBi, no element mask (structural masks — causal with any
//     offset, sliding window, key_lengths —, GQA/MQA and dropout are all supported; dropout draws
//     attention_dropout_scale's decisions, 16 Philox blocks per AVX-512 call);
//   * D a multiple of 16 (one vector of output columns), B·H·T > 0 and 0 < S < 2^30;
//   * the CPU has avx512_bf16 and the chosen SIMD target is an AVX-512 one (ATTN_CPU_TARGET=avx2 or
//     lower, or a ScopedCpuTarget below AVX3, keeps the f32 path);
//   * every K and V value a query may see (keys below key_lengths[b]) is finite: a NaN/Inf there would
//     meet zero probabilities in a bf16 product (0·NaN) and reach rows that cannot see it, which the
//     f32 kernels guard against tile by tile — here the whole call falls back instead. The forward
//     finds out while packing K/V, before writing anything; the backward packs each K/V tile where
//     it is used, so when it returns false for this reason dk and dv may hold partial results.
// The decision depends on p, the CPU target and the K/V values only, so a forward and its backward
// (same p, same inputs) always agree; the backward must be called with bf16_products as the forward
// had it (ops/attention.cpp records the forward's precision in the autograd closure).
//
// Forward and backward compute the scores with the same micro-kernel and the same rounding of Q and
// K: each score element is one chain of vdpbf16ps over the D/2 pairs in ascending order however the
// rows are blocked (the forward's Sᵀ = K·Qsᵀ swaps a and b per lane, which leaves every lane's sum of
// exact products unchanged; tested), so the backward's P = exp(S - lse) matches the saved lse.
// Layouts, threads, determinism and fully masked rows are as in flash_attention.h and
// flash_attention_backward.h (bit-identical for every thread count; zeros, never NaN, for rows that
// see no key). attention_weights_flash stays f32: weights recomputed from a bf16 forward's lse are off
// by the bf16 rounding of the scores (~2^-9 relative). Never throws; allocates only scratch.
#pragma once

#include "kernels/attention_params.h"

namespace attn::kernels {

// Whether p is in the bf16 scope above, K/V values aside (options, D, sizes, CPU and target).
bool attention_bf16_applicable(const AttentionParams& p);

// The forward of flash_attention.h with bf16 products; false (nothing written) when out of scope.
bool attention_forward_flash_bf16(const AttentionParams& p, float* out, float* lse);

// The backward of flash_attention_backward.h with bf16 products, from the out and lse of
// attention_forward_flash_bf16 on the same p; false when out of scope (outputs possibly partly
// written, see the scope above).
bool attention_backward_flash_bf16(const AttentionParams& p, const float* out, const float* dout, const float* lse,
                                   float* dq, float* dk, float* dv);

}  // namespace attn::kernels
