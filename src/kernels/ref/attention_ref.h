// kernels/ref/attention_ref.h — the float64 naive attention: the oracle every fast attention kernel
// is tested against. One (b,h,i) row at a time, logits materialised, nothing clever.
//
//   std::vector<double> out(B*H*T*D), w(B*H*T*S), lse(B*H*T);
//   attn::kernels::ref::attention_forward(p, out.data(), w.data(), lse.data());
//
// Inputs come from AttentionParams (f32, strided); outputs are dense float64: out [B,H,T,D],
// weights [B,H,T,S] (pre-dropout softmax; may be null), lse [B,H,T] (natural log; may be null).
// Masked keys are never read (so NaN/Inf stored there cannot leak); a fully masked row gives out = 0,
// weights = 0 and lse = -inf.
#pragma once

#include "kernels/attention_params.h"

namespace attn::kernels::ref {

// The logit s_ij of attn/attention.h (steps 1-4) in float64; returns false when key j is masked for
// query i (step 5), without reading k_j.
bool attention_logit(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t j, double* s);

void attention_forward(const AttentionParams& p, double* out, double* weights, double* lse);

}  // namespace attn::kernels::ref
