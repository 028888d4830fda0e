// ops/attention_backward.cpp — Tensor-level attention backward (attn/attention_backward.h):
// validate, convert, call the flash backward kernel or its float64 twin.
//
// The q/k/v and option checks mirror ops/attention.cpp (same messages, same conversions: bf16/f16 to
// f32, non-contiguous rows copied, boolean masks to additive 0/-inf, i32 lengths to i64, default scale
// and offset), so that forward and backward agree on every option. Keep the two in step; they are
// separate only because that file's helpers are private to it.
#include <attn/attention_backward.h>
#include <attn/error.h>
#include <attn/ops.h>
#include <attn/profile.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention_backward.h"
#include "kernels/cpu/flash_attention_bf16.h"
#include "kernels/ref/attention_ref_backward.h"
#include "ops/attention_params.h"

namespace attn {
namespace {

using kernels::AttentionParams;
using ops_detail::AttentionHold;
using ops_detail::make_attention_params;
using ops_detail::set_strides;

// out / dout: defined float [B,H,T,D] like q; converted to f32 with unit-stride rows.
Tensor check_like_q(const Tensor& t, const Tensor& q, const char* name, const char* what) {
  ATTN_CHECK(t.defined(), ValueError, "{}: {} must be defined", what, name);
  ATTN_CHECK(dtype_is_float(t.dtype()) && t.shape() == q.shape(), ShapeError, "{}: {} {} must match q {}", what, name,
             t.str(), q.str());
  const Tensor f = t.dtype() == DType::kF32 ? t : t.to(DType::kF32);
  return f.stride(-1) == 1 ? f : f.contiguous();
}

Tensor from_doubles(const std::vector<double>& x, const Shape& shape, DType dtype) {
  Tensor t = Tensor::from_vector(std::vector<float>(x.begin(), x.end()), shape);
  return dtype == DType::kF32 ? t : t.to(dtype);
}

}  // namespace

AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& lse, const Tensor& dout, const AttentionOptions& opts) {
  const char* what = "attention_backward";
  AttentionHold hold;
  AttentionParams p = make_attention_params(q, k, v, opts, hold, what);
  hold.out = check_like_q(out, q, "out", what);
  hold.dout = check_like_q(dout, q, "dout", what);
  const Shape lse_shape{p.B, p.H, p.T};
  ATTN_CHECK(lse.defined() && lse.dtype() == DType::kF32 && lse.shape() == lse_shape, ShapeError,
             "{}: lse must be f32 [B,H,T] = {} (attention() with return_lse), got {}", what, shape_str(lse_shape),
             lse.defined() ? lse.str() : "undefined");
  hold.lse = lse.contiguous();
  // out and dout share the kernel's one o_stride. attention()'s out has q's layout and the gradient
  // arriving through the heads' merge has it too: then both are read in place; otherwise both are
  // made contiguous. dq, dk and dv take q's, k's and v's layouts (so the way back to the projections
  // is a view), as slices of one buffer when q, k and v are slices of a fused projection's output.
  if (hold.dout.strides() != hold.out.strides())
    hold.out = hold.out.contiguous(), hold.dout = hold.dout.contiguous();
  set_strides(p.o_stride, hold.out);
  Tensor dq, dk, dv;
  if (auto joint = ops_detail::fused_qkv_grads(q, k, v)) {
    dq = (*joint)[0], dk = (*joint)[1], dv = (*joint)[2];
  } else {
    dq = ops_detail::empty_rows_like(hold.q);
    dk = ops_detail::empty_rows_like(hold.k), dv = ops_detail::empty_rows_like(hold.v);
  }
  set_strides(p.dq_stride, dq);
  set_strides(p.dk_stride, dk);
  set_strides(p.dv_stride, dv);
  // bf16 products under MatmulPrecision::kBF16 (as the forward, which must have run in the same
  // precision: attention() records it for its backward), else f32.
  p.bf16_products = matmul_precision() == MatmulPrecision::kBF16;
  const float *o = hold.out.data<float>(), *g = hold.dout.data<float>(), *l = hold.lse.data<float>();
  {
    ProfileScope scope("attention backward");
    if (!kernels::attention_backward_flash_bf16(p, o, g, l, dq.data<float>(), dk.data<float>(), dv.data<float>()))
      kernels::attention_backward_flash(p, o, g, l, dq.data<float>(), dk.data<float>(), dv.data<float>());
  }
  if (q.dtype() != DType::kF32) dq = dq.to(q.dtype()), dk = dk.to(q.dtype()), dv = dv.to(q.dtype());
  return {std::move(dq), std::move(dk), std::move(dv)};
}

AttentionGrads attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                                            const AttentionOptions& opts) {
  const char* what = "attention_backward_reference";
  AttentionHold hold;
  AttentionParams p = make_attention_params(q, k, v, opts, hold, what);
  hold.dout = check_like_q(dout, q, "dout", what).contiguous();  // dq below is dense like it
  set_strides(p.o_stride, hold.dout);
  std::vector<double> dq(q.numel()), dk(k.numel()), dv(k.numel());
  kernels::ref::attention_backward(p, hold.dout.data<float>(), dq.data(), dk.data(), dv.data());
  return {from_doubles(dq, q.shape(), q.dtype()), from_doubles(dk, k.shape(), q.dtype()),
          from_doubles(dv, k.shape(), q.dtype())};
}

}  // namespace attn
