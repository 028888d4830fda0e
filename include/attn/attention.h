// attn/attention.h — scaled dot-product attention over Tensors: the fast (flash) path, the float64
// reference, and exact weights recomputed from the saved log-sum-exp.
//
//   // q: [B,H,T,D]  k,v: [B,Hkv,S,D] -> out: [B,H,T,D], lse: [B,H,T]; H % Hkv == 0
//   AttentionResult r = attention(q, k, v, {.causal = true, .window_left = 256});
//   Tensor w = attention_weights(q, k, r.lse, {.causal = true, .window_left = 256}, {0, 3});  // [B,2,T,S]
//   AttentionReference ref = attention_reference(q, k, v, {.causal = true});  // out, weights, lse
//
// The logit of query i and key j is built in this order (every option composes with every other):
//   1. s = scale * <q_i, k_j>                        (scale defaults to 1/sqrt(D))
//   2. s = softcap * tanh(s / softcap)               (when softcap > 0)
//   3. s += -alibi_slope[h] * |i + offset - j|        (when alibi_slopes is given)
//   4. s += mask[b,h,i,j]                            (additive f32 mask; -inf masks the key)
//   5. key j is masked when: mask is boolean and mask[b,h,i,j] == 0; j >= key_lengths[b];
//      causal and j > i + offset; window_left >= 0 and j < i + offset - window_left;
//      window_right >= 0 and j > i + offset + window_right.
// with offset = S - T unless given (query i is aligned with key i + S - T: cached decoding).
// Then p = softmax over the unmasked keys, lse = log(sum_j exp(s_ij)) (natural log, of the final s),
// and out_i = sum_j dropout(p_ij) v_j, where dropout keeps p_ij / (1 - dropout_p) with probability
// 1 - dropout_p, decided by Philox4x32 (attn/rng.h) from (dropout_seed, dropout_offset, b, h, i, j)
// alone — so it is the same for every thread count and the backward replays it exactly.
// A fully masked row gives out = 0 and lse = -inf (never NaN). NaN/Inf stored in K/V at a key that is
// masked for a row never reaches that row. Weights and lse are always of the un-dropped softmax.
//
// Dtypes: q, k, v share one float dtype (f32, bf16, f16; computed in f32, out has q's dtype); lse and
// weights are f32. Inputs may be strided views (e.g. heads permuted out of a fused QKV projection) as
// long as their last dimension is contiguous; other layouts are copied first. Bad shapes, dtypes or
// options throw ShapeError / ValueError naming both values.
//
// The backward pass (issue 4) takes the same AttentionOptions and the lse returned here.
#pragma once

#include <attn/tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace attn {

struct AttentionOptions {
  // Multiplies <q,k>; 0 means 1/sqrt(D).
  double scale = 0.0;
  // Query i sees keys j <= i + offset.
  bool causal = false;
  // Diagonal alignment for causal, window and ALiBi: query i sits at key position i + offset.
  // Unset means S - T (bottom-right, as for a KV cache); 0 gives top-left alignment.
  std::optional<int64_t> offset = std::nullopt;
  // i32 or i64 [B]: keys j >= key_lengths[b] are padding and masked. Undefined = no padding.
  Tensor key_lengths;
  // Broadcastable (numpy rules, right-aligned) to [B,H,T,S]. f32: added to the logits (-inf masks);
  // i32/i64: boolean, nonzero = may attend. Undefined = no mask.
  Tensor mask;
  // Sliding window around the diagonal: key j visible iff i+offset-window_left <= j <= i+offset+window_right.
  // -1 = unbounded on that side.
  int64_t window_left = -1;
  int64_t window_right = -1;
  // f32 [H]: adds -slope[h] * |i + offset - j| to the logits. Undefined = no ALiBi.
  Tensor alibi_slopes;
  // Logit soft-capping s -> softcap * tanh(s / softcap) (Gemma 2, Grok); 0 = off.
  float softcap = 0.0f;
  // Dropout on the probabilities (training); 0 = off. Keep (seed, offset) to replay it in the backward.
  float dropout_p = 0.0f;
  uint64_t dropout_seed = 0;
  uint64_t dropout_offset = 0;
  // Return the per-row log-sum-exp [B,H,T] (needed by the backward and by attention_weights).
  bool return_lse = true;
};

struct AttentionResult {
  Tensor out;  // [B,H,T,D], q's dtype
  Tensor lse;  // [B,H,T] f32 (undefined when return_lse is false); -inf on fully masked rows
};

// The fast path: flash-style tiled kernel (never materialises T x S), SIMD, threaded over
// batch x head x query tile. Uses attn::num_threads().
AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts = {});

struct AttentionReference {
  Tensor out;      // [B,H,T,D] f32 (computed in float64)
  Tensor weights;  // [B,H,T,S] f32: softmax probabilities before dropout; 0 where masked
  Tensor lse;      // [B,H,T] f32
};

// The obviously correct twin: one float64 loop per (b,h,i), materialises the weights. For tests,
// visualisation of small inputs and documentation; O(B*H*T*S) memory.
AttentionReference attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                       const AttentionOptions& opts = {});

// Exact weights p_ij = exp(s_ij - lse_i) for the chosen heads, recomputed tile by tile from the lse
// that attention() returned with the same q, k and opts (no softmax pass, no naive path; dropout not
// applied). heads: indices into H. -> [B, heads.size(), T, S] f32.
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& lse, const AttentionOptions& opts,
                         const std::vector<int64_t>& heads);

// Integer [B,S] mask, 1 where j < key_lengths[b] (may attend), 0 for padding (i32 or i64 lengths;
// what score-based attention such as the additive kind masks with).
Tensor key_lengths_mask(const Tensor& key_lengths, int64_t S);

}  // namespace attn
