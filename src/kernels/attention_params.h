// kernels/attention_params.h — what every attention kernel (reference, flash forward, and the
// backward of issue 4) receives: raw pointers, sizes, strides and the already-validated options.
//
//   AttentionParams p{.q = q, .k = k, .v = v, .B = 1, .H = 8, .Hkv = 2, .T = 7, .S = 7, .D = 64, ...};
//   attention_forward_flash(p, out, lse);
//
// Layout: q [B,H,T,D], k,v [B,Hkv,S,D], out [B,H,T,D]; strides in elements, the last dimension
// contiguous. Kernels never throw and never allocate tensors: ops/attention.cpp validates and converts
// (boolean masks to additive 0/-inf, i32 lengths to i64, the default scale and offset) first.
// The helpers below define the masking band and the dropout decision once, so the reference, the
// flash forward and the backward cannot disagree.
#pragma once

#include <attn/rng.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace attn::kernels {

struct AttentionParams {
  // ---- inputs (f32) ----
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t B = 0, H = 0, Hkv = 0, T = 0, S = 0, D = 0;
  // Strides in elements: [b, h, row]; the last dimension has stride 1.
  int64_t q_stride[3] = {0, 0, 0};
  int64_t k_stride[3] = {0, 0, 0};
  int64_t v_stride[3] = {0, 0, 0};
  int64_t o_stride[3] = {0, 0, 0};  // for out (and dout in the backward)
  // Backward outputs' strides [b, h, row]: dq's, all 0 (the default) meaning o_stride; dk's and dv's,
  // all 0 meaning dense [B,Hkv,S,D]. (A fused q/k/v projection's gradients are slices of one buffer.)
  int64_t dq_stride[3] = {0, 0, 0};
  int64_t dk_stride[3] = {0, 0, 0};
  int64_t dv_stride[3] = {0, 0, 0};

  // ---- options (see attn/attention.h for the order they apply in) ----
  float scale = 1.0f;
  bool causal = false;
  int64_t offset = 0;             // query i sits at key position i + offset (S - T by default)
  const int64_t* key_lengths = nullptr;  // [B] or null
  const float* mask = nullptr;    // additive, -inf = masked; or null
  int64_t mask_stride[4] = {0, 0, 0, 0};  // [b,h,i,j]; 0 on broadcast dimensions
  int64_t window_left = -1;       // -1 = unbounded
  int64_t window_right = -1;
  const float* alibi_slopes = nullptr;  // [H] or null
  float softcap = 0.0f;           // 0 = off
  float dropout_p = 0.0f;         // 0 = off
  uint64_t dropout_seed = 0;
  uint64_t dropout_offset = 0;
  // bf16 products (MatmulPrecision::kBF16): kernels/cpu/flash_attention_bf16.h takes the call when
  // in its scope; the f32 kernels ignore this.
  bool bf16_products = false;
};

// Strides [b, h, row] of a backward output: dq, dk or dv.
struct GradStrides {
  int64_t b, h, row;
  float* row_ptr(float* base, int64_t bi, int64_t hi, int64_t j) const { return base + bi * b + hi * h + j * row; }
};
inline bool strides_unset(const int64_t (&s)[3]) { return s[0] == 0 && s[1] == 0 && s[2] == 0; }
// dk's or dv's (`s` is p.dk_stride or p.dv_stride).
inline GradStrides kv_grad_strides(const AttentionParams& p, const int64_t (&s)[3]) {
  if (strides_unset(s)) return {p.Hkv * p.S * p.D, p.S * p.D, p.D};
  return {s[0], s[1], s[2]};
}
inline GradStrides dq_grad_strides(const AttentionParams& p) {
  const int64_t(&s)[3] = strides_unset(p.dq_stride) ? p.o_stride : p.dq_stride;
  return {s[0], s[1], s[2]};
}
// Zeroes every row of a dk or dv (the backward's answer when there are no query rows).
inline void zero_kv_grad(const AttentionParams& p, float* base, const GradStrides& st) {
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.Hkv; ++h)
      for (int64_t j = 0; j < p.S; ++j) std::fill_n(st.row_ptr(base, b, h, j), p.D, 0.0f);
}

// True when a logit needs more than scale * <q,k> (softcap, ALiBi or an element mask).
inline bool attention_has_logit_terms(const AttentionParams& p) {
  return p.softcap > 0.0f || p.alibi_slopes != nullptr || p.mask != nullptr;
}

// The band of keys [lo, hi) that query row i of batch item b may see under the structural masks
// (causal, window, key padding); empty when lo >= hi. Both ends are non-decreasing in i, which is what
// lets the flash kernel skip whole tiles and mask only the boundary ones.
inline void attention_key_band(const AttentionParams& p, int64_t b, int64_t i, int64_t* lo, int64_t* hi) {
  const int64_t pos = i + p.offset;
  int64_t l = 0, h = p.S;
  if (p.key_lengths != nullptr) h = std::min(h, std::max<int64_t>(p.key_lengths[b], 0));
  if (p.causal) h = std::min(h, pos + 1);
  if (p.window_right >= 0) h = std::min(h, pos + p.window_right + 1);
  if (p.window_left >= 0) l = std::max(l, pos - p.window_left);
  *lo = std::max<int64_t>(l, 0);
  *hi = std::max<int64_t>(h, *lo);
}

// Dropout multiplier for element (b,h,i,j): 0 (dropped) or 1/(1-p) (kept). One Philox4x32 block
// serves four consecutive elements of the flattened [B,H,T,S] index; the stream is keyed by the seed
// and the offset, so different calls use different offsets.
inline float attention_dropout_scale(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t j) {
  const uint64_t idx = static_cast<uint64_t>(((b * p.H + h) * p.T + i) * p.S + j);
  const auto words = philox4x32(p.dropout_seed, p.dropout_offset, idx >> 2);
  const float u = uint_to_unit_float(words[idx & 3]);
  return u >= p.dropout_p ? 1.0f / (1.0f - p.dropout_p) : 0.0f;
}

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace attn::kernels
