// kernels/ref/attention_ref_backward.h — the float64 naive attention backward: the oracle the flash
// backward is tested against. One (b,h,i) row at a time, logits and probabilities materialised.
//
//   std::vector<double> dq(B*H*T*D), dk(B*Hkv*S*D), dv(B*Hkv*S*D);
//   attn::kernels::ref::attention_backward(p, dout, dq.data(), dk.data(), dv.data());
//
// Inputs come from AttentionParams (f32, strided; dout uses p.o_stride); outputs are dense float64:
// dq [B,H,T,D], dk and dv [B,Hkv,S,D] (summed over the H/Hkv query heads that share a kv head).
// The forward is recomputed here in float64 (no saved out or lse), and the chain rule is written out
// term by term, independently of the flash kernel's algebra:
//   p_j = softmax_j(s), z_j = dropout multiplier (attention_dropout_scale: the forward's own draw),
//   dv_j += p_j z_j dO,   dp_j = z_j <dO, v_j>,   ds_j = p_j (dp_j - sum_k p_k dp_k),
//   dx_j = ds_j * (1 - tanh²(x_j / softcap))   (x_j = scale <q,k_j>; factor 1 without softcap),
//   dq += scale dx_j k_j,   dk_j += scale dx_j q.
// ALiBi and the additive mask are constants of the logit: they pass gradients through unchanged.
// Masked keys are never read; a fully masked row contributes nothing (all its gradients are 0).
#pragma once

#include "kernels/attention_params.h"

namespace attn::kernels::ref {

void attention_backward(const AttentionParams& p, const float* dout, double* dq, double* dk, double* dv);

}  // namespace attn::kernels::ref
