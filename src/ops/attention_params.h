// ops/attention_params.h — validation of attention inputs and options, and their translation into
// kernels::AttentionParams: shared by the forward (attention.cpp) and the backward
// (attention_backward.cpp) so both check and convert exactly alike. Internal to ops.
#pragma once

#include <attn/attention.h>

#include "kernels/attention_params.h"

namespace attn::ops_detail {

// Tensors the params point into (f32 copies or views), kept alive for the kernel call.
struct AttentionHold {
  Tensor q, k, v, mask, lengths, alibi, out, dout, lse;
};

// Strides [b, h, row] of a [B,H,rows,D] tensor.
void set_strides(int64_t* dst, const Tensor& t);

// An uninitialised f32 tensor of like's shape laid out in memory as like is when like is a
// permutation of a dense tensor with unit last stride — q as a [B,H,T,D] view of a projection's
// [B,T,H,D] rows — else contiguous. Attention's out and dq take q's layout this way, so that merging
// the heads back into [B,T,H·D] (and the gradient's way back) is a view, not a copy.
Tensor empty_rows_like(const Tensor& like);

// Checks q [B,H,T,D], k/v [B,Hkv,S,D] (v may be undefined: attention_weights) and every option, with
// ShapeError / ValueError messages that start with `what` and name both values; converts bf16/f16 to
// f32, non-contiguous rows to contiguous, boolean masks to additive 0/-inf, i32 lengths to i64.
kernels::AttentionParams make_attention_params(const Tensor& q, const Tensor& k, const Tensor& v,
                                               const AttentionOptions& o, AttentionHold& hold, const char* what);

}  // namespace attn::ops_detail
