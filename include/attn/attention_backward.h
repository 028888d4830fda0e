// attn/attention_backward.h — gradients of attention() (attn/attention.h): the fast flash-style
// backward from the saved out and log-sum-exp, and its float64 reference twin.
//
//   AttentionOptions o{.causal = true, .dropout_p = 0.1f, .dropout_seed = 7};
//   AttentionResult r = attention(q, k, v, o);                            // out, lse
//   AttentionGrads g = attention_backward(q, k, v, r.out, r.lse, dout, o);  // dq, dk, dv
//   AttentionGrads want = attention_backward_reference(q, k, v, dout, o);  // float64, for tests
//
// Shapes: q, dq [B,H,T,D]; k, v, dk, dv [B,Hkv,S,D]; out, dout [B,H,T,D]; lse [B,H,T] f32.
// dk and dv are summed over the H/Hkv query heads that share a kv head (GQA/MQA).
// Pass exactly the options of the forward call: the backward recomputes each score tile from lse
// (p = exp(s - lse)) and replays dropout from (dropout_seed, dropout_offset), so out and lse must
// come from attention() with the same q, k, v and options. Every option is differentiated through
// (softcap by the chain rule through tanh; masks, ALiBi and padding are constants).
// Fully masked rows (lse = -inf) get zero gradients; NaN/Inf in masked K/V rows reach no gradient.
// Results do not depend on the thread count. Extra memory is O(B·H·T·D) (never T x S).
//
// Inside autograd this is called for you: attention() records it when q, k or v requires grad.
// Dtypes: gradients have their input's dtype (computed in f32). Bad shapes throw ShapeError naming
// both shapes; bad options throw as attention() does.
#pragma once

#include <attn/attention.h>
#include <attn/tensor.h>

namespace attn {

struct AttentionGrads {
  Tensor dq;  // [B,H,T,D], q's dtype
  Tensor dk;  // [B,Hkv,S,D], k's dtype
  Tensor dv;  // [B,Hkv,S,D], v's dtype
};

// The fast path (kernels/cpu/flash_attention_backward): threads over (batch, kv head, key chunk).
AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& lse, const Tensor& dout, const AttentionOptions& opts = {});

// The obviously correct twin: one float64 loop per (b,h,i), forward recomputed, chain rule spelled
// out (kernels/ref/attention_ref_backward). f32 results. For tests; O(S) memory per row, slow.
AttentionGrads attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                                            const AttentionOptions& opts = {});

}  // namespace attn
