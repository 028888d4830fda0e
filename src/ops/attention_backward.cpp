// ops/attention_backward.cpp — Tensor-level attention backward (attn/attention_backward.h):
// validate, convert, call the flash backward kernel or its float64 twin.
//
// The q/k/v and option checks mirror ops/attention.cpp (same messages, same conversions: bf16/f16 to
// f32, non-contiguous rows copied, boolean masks to additive 0/-inf, i32 lengths to i64, default scale
// and offset), so that forward and backward agree on every option. Keep the two in step; they are
// separate only because that file's helpers are private to it.
#include <attn/attention_backward.h>
#include <attn/error.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention_backward.h"
#include "kernels/ref/attention_ref_backward.h"

namespace attn {
namespace {

using kernels::AttentionParams;

// Tensors the params point into; kept alive for the kernel call.
struct Hold {
  Tensor q, k, v, mask, lengths, alibi, out, dout, lse;
};

Tensor as_f32_rows(const Tensor& t) {
  Tensor f = t.dtype() == DType::kF32 ? t : t.to(DType::kF32);
  return f.stride(-1) == 1 || f.size(-1) <= 1 ? f : f.contiguous();
}

void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v, const char* what) {
  ATTN_CHECK(q.defined() && k.defined() && v.defined(), ValueError, "{}: q, k and v must be defined", what);
  ATTN_CHECK(q.dim() == 4, ShapeError, "{}: q must be [B,H,T,D], got {}", what, shape_str(q.shape()));
  ATTN_CHECK(k.dim() == 4, ShapeError, "{}: k must be [B,Hkv,S,D], got {}", what, shape_str(k.shape()));
  ATTN_CHECK(dtype_is_float(q.dtype()) && q.dtype() == k.dtype() && v.dtype() == k.dtype(), ShapeError,
             "{}: q, k and v must share one float dtype, got q {}, k {}, v {}", what, q.str(), k.str(), v.str());
  ATTN_CHECK(q.size(0) == k.size(0) && q.size(3) == k.size(3), ShapeError,
             "{}: q {} and k {} must agree on B and D", what, shape_str(q.shape()), shape_str(k.shape()));
  ATTN_CHECK(k.size(1) > 0 && q.size(1) % k.size(1) == 0, ShapeError,
             "{}: heads of q {} must be a multiple of heads of k {} (H % Hkv == 0)", what, shape_str(q.shape()),
             shape_str(k.shape()));
  ATTN_CHECK(q.size(3) > 0, ShapeError, "{}: head dim D must be > 0, q is {}", what, shape_str(q.shape()));
  ATTN_CHECK(v.shape() == k.shape(), ShapeError, "{}: v {} must have k's shape {}", what, shape_str(v.shape()),
             shape_str(k.shape()));
}

void check_options(const AttentionOptions& o, const Shape& qs, const Shape& ks, const char* what) {
  const int64_t B = qs[0], H = qs[1], T = qs[2], S = ks[2];
  ATTN_CHECK(std::isfinite(o.scale) && o.scale >= 0.0, ValueError, "{}: scale must be finite and >= 0, got {}", what,
             o.scale);
  ATTN_CHECK(std::isfinite(o.softcap) && o.softcap >= 0.0f, ValueError, "{}: softcap must be >= 0, got {}", what,
             o.softcap);
  ATTN_CHECK(o.dropout_p >= 0.0f && o.dropout_p < 1.0f, ValueError, "{}: dropout_p must be in [0, 1), got {}", what,
             o.dropout_p);
  ATTN_CHECK(o.window_left >= -1 && o.window_right >= -1, ValueError,
             "{}: window extents must be >= -1 (unbounded), got left {} and right {}", what, o.window_left,
             o.window_right);
  if (o.key_lengths.defined()) {
    const Tensor& l = o.key_lengths;
    ATTN_CHECK((l.dtype() == DType::kI32 || l.dtype() == DType::kI64) && l.dim() == 1 && l.size(0) == B, ShapeError,
               "{}: key_lengths must be i32/i64 [B] = [{}], got {}", what, B, l.str());
  }
  if (o.alibi_slopes.defined()) {
    const Tensor& a = o.alibi_slopes;
    ATTN_CHECK(a.dtype() == DType::kF32 && a.dim() == 1 && a.size(0) == H, ShapeError,
               "{}: alibi_slopes must be f32 [H] = [{}], got {}", what, H, a.str());
  }
  if (o.mask.defined()) {
    const Tensor& m = o.mask;
    const Shape full{B, H, T, S};
    bool ok = m.dim() <= 4;
    for (int64_t d = 0; ok && d < m.dim(); ++d) ok = m.size(d) == full[4 - m.dim() + d] || m.size(d) == 1;
    ATTN_CHECK(ok, ShapeError, "{}: mask {} does not broadcast to [B,H,T,S] = {}", what, shape_str(m.shape()),
               shape_str(full));
  }
}

// Boolean (integer) masks become additive 0/-inf; float masks become f32.
Tensor mask_as_additive(const Tensor& m) {
  if (dtype_is_float(m.dtype())) return m.dtype() == DType::kF32 ? m : m.to(DType::kF32);
  const Tensor c = m.to(DType::kI64).contiguous();
  Tensor out = Tensor::empty(c.shape(), DType::kF32);
  const int64_t* src = c.data<int64_t>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < c.numel(); ++i) dst[i] = src[i] != 0 ? 0.0f : kernels::kNegInf;
  return out;
}

void set_strides(int64_t* dst, const Tensor& t) {
  for (int d = 0; d < 3; ++d) dst[d] = t.stride(d);
}

// Validates q, k, v and the options and fills the kernel params (as ops/attention.cpp does).
AttentionParams make_params(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o, Hold& hold,
                            const char* what) {
  check_qkv(q, k, v, what);
  check_options(o, q.shape(), k.shape(), what);
  hold.q = as_f32_rows(q), hold.k = as_f32_rows(k), hold.v = as_f32_rows(v);
  AttentionParams p;
  p.q = hold.q.data<float>(), p.k = hold.k.data<float>(), p.v = hold.v.data<float>();
  set_strides(p.q_stride, hold.q), set_strides(p.k_stride, hold.k), set_strides(p.v_stride, hold.v);
  p.B = q.size(0), p.H = q.size(1), p.T = q.size(2), p.D = q.size(3), p.Hkv = k.size(1), p.S = k.size(2);
  p.scale = o.scale > 0.0 ? static_cast<float>(o.scale) : static_cast<float>(1.0 / std::sqrt(double(p.D)));
  p.causal = o.causal;
  p.offset = o.offset.value_or(p.S - p.T);
  if (o.key_lengths.defined()) {
    hold.lengths = o.key_lengths.to(DType::kI64).contiguous();
    p.key_lengths = hold.lengths.data<int64_t>();
  }
  if (o.mask.defined()) {
    hold.mask = mask_as_additive(o.mask).expand({p.B, p.H, p.T, p.S});
    p.mask = hold.mask.data<float>();
    for (int d = 0; d < 4; ++d) p.mask_stride[d] = hold.mask.size(d) == 1 ? 0 : hold.mask.stride(d);
  }
  p.window_left = o.window_left, p.window_right = o.window_right;
  if (o.alibi_slopes.defined()) {
    hold.alibi = o.alibi_slopes.contiguous();
    p.alibi_slopes = hold.alibi.data<float>();
  }
  p.softcap = o.softcap;
  p.dropout_p = o.dropout_p, p.dropout_seed = o.dropout_seed, p.dropout_offset = o.dropout_offset;
  return p;
}

// out / dout: defined float [B,H,T,D] like q; converted to contiguous f32.
Tensor check_like_q(const Tensor& t, const Tensor& q, const char* name, const char* what) {
  ATTN_CHECK(t.defined(), ValueError, "{}: {} must be defined", what, name);
  ATTN_CHECK(dtype_is_float(t.dtype()) && t.shape() == q.shape(), ShapeError, "{}: {} {} must match q {}", what, name,
             t.str(), q.str());
  return t.to(DType::kF32).contiguous();
}

Tensor from_doubles(const std::vector<double>& x, const Shape& shape, DType dtype) {
  Tensor t = Tensor::from_vector(std::vector<float>(x.begin(), x.end()), shape);
  return dtype == DType::kF32 ? t : t.to(dtype);
}

}  // namespace

AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& lse, const Tensor& dout, const AttentionOptions& opts) {
  const char* what = "attention_backward";
  Hold hold;
  AttentionParams p = make_params(q, k, v, opts, hold, what);
  hold.out = check_like_q(out, q, "out", what);
  hold.dout = check_like_q(dout, q, "dout", what);
  const Shape lse_shape{p.B, p.H, p.T};
  ATTN_CHECK(lse.defined() && lse.dtype() == DType::kF32 && lse.shape() == lse_shape, ShapeError,
             "{}: lse must be f32 [B,H,T] = {} (attention() with return_lse), got {}", what, shape_str(lse_shape),
             lse.defined() ? lse.str() : "undefined");
  hold.lse = lse.contiguous();
  set_strides(p.o_stride, hold.out);  // out, dout and dq: contiguous [B,H,T,D]
  Tensor dq = Tensor::empty(q.shape()), dk = Tensor::empty(k.shape()), dv = Tensor::empty(k.shape());
  kernels::attention_backward_flash(p, hold.out.data<float>(), hold.dout.data<float>(), hold.lse.data<float>(),
                                    dq.data<float>(), dk.data<float>(), dv.data<float>());
  if (q.dtype() != DType::kF32) dq = dq.to(q.dtype()), dk = dk.to(q.dtype()), dv = dv.to(q.dtype());
  return {std::move(dq), std::move(dk), std::move(dv)};
}

AttentionGrads attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                                            const AttentionOptions& opts) {
  const char* what = "attention_backward_reference";
  Hold hold;
  AttentionParams p = make_params(q, k, v, opts, hold, what);
  hold.dout = check_like_q(dout, q, "dout", what);
  set_strides(p.o_stride, hold.dout);
  std::vector<double> dq(q.numel()), dk(k.numel()), dv(k.numel());
  kernels::ref::attention_backward(p, hold.dout.data<float>(), dq.data(), dk.data(), dv.data());
  return {from_doubles(dq, q.shape(), q.dtype()), from_doubles(dk, k.shape(), q.dtype()),
          from_doubles(dv, k.shape(), q.dtype())};
}

}  // namespace attn
