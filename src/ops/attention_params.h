// ops/attention_params.h — validation of attention inputs and options, and their translation into
// kernels::AttentionParams: shared by the forward (attention.cpp) and the backward
// (attention_backward.cpp) so both check and convert exactly alike. Internal to ops.
#pragma once

#include <attn/attention.h>

#include <array>
#include <optional>

#include "kernels/attention_params.h"

namespace attn::ops_detail {

// Tensors the params point into (f32 copies or views), kept alive for the kernel call.
struct AttentionHold {
  Tensor q, k, v, mask, lengths, alibi, out, dout, lse;
};

// Strides [b, h, row] of a [B,H,rows,D] tensor.
void set_strides(int64_t* dst, const Tensor& t);

// An uninitialised f32 tensor of `shape` whose dims lie in memory in the order of decreasing
// `strides` (dense in that order; the last dim last), or contiguous when the last stride is not 1.
Tensor empty_in_layout(const Shape& shape, const Strides& strides);

// empty_in_layout(like.shape(), like.strides()): q as a [B,H,T,D] view of a projection's [B,T,·]
// rows gives a [B,T,H,D]-ordered out. Attention's out and dq take q's layout this way, so that
// merging the heads back into [B,T,H·D] (and the gradient's way back) is a view, not a copy.
Tensor empty_rows_like(const Tensor& like);

// When q [B,H,T,D], k and v [B,Hkv,T,D] (f32) are the three adjacent head slices of one dense
// [B,H+2Hkv,T,D] layout — a fused q/k/v projection's output split into heads — uninitialised dq,
// dk, dv as the same slices of one new buffer in that layout, so the split's backward finds its
// gradient already joined (ops/shape.cpp: concat of adjacent slices is a view). Else nullopt.
std::optional<std::array<Tensor, 3>> fused_qkv_grads(const Tensor& q, const Tensor& k, const Tensor& v);

// Checks q [B,H,T,D], k/v [B,Hkv,S,D] (v may be undefined: attention_weights) and every option, with
// ShapeError / ValueError messages that start with `what` and name both values; converts bf16/f16 to
// f32, non-contiguous rows to contiguous, boolean masks to additive 0/-inf, i32 lengths to i64.
kernels::AttentionParams make_attention_params(const Tensor& q, const Tensor& k, const Tensor& v,
                                               const AttentionOptions& o, AttentionHold& hold, const char* what);

}  // namespace attn::ops_detail
