// ops/attention.cpp — Tensor-level attention (attn/attention.h): validate, convert, call the kernels.
//
// Everything the kernels assume is checked here (ranks, sizes, dtypes, option ranges), with messages
// that name both values. Conversions: bf16/f16 inputs to f32, a last dimension that is not contiguous
// to a contiguous copy, boolean masks to additive 0/-inf, i32 key lengths to i64.
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/autograd.h>
#include <attn/error.h>
#include <attn/ops.h>
#include <attn/profile.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention_params.h"
#include "ops/attention_params.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/flash_attention_bf16.h"
#include "kernels/ref/attention_ref.h"

namespace attn {
namespace {

using kernels::AttentionParams;
using ops_detail::AttentionHold;
using ops_detail::make_attention_params;
using ops_detail::set_strides;

Tensor from_doubles(const std::vector<double>& x, const Shape& shape) {
  return Tensor::from_vector(std::vector<float>(x.begin(), x.end()), shape);
}

}  // namespace

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  ATTN_CHECK(v.defined(), ValueError, "attention: v must be defined");
  AttentionHold hold;
  AttentionParams p = make_attention_params(q, k, v, opts, hold, "attention");
  Tensor out = ops_detail::empty_rows_like(hold.q);  // q's layout: merging heads is then a view
  set_strides(p.o_stride, out);
  const bool grad = autograd::needs_grad({&q, &k, &v});  // the backward needs lse too
  Tensor lse = opts.return_lse || grad ? Tensor::empty({p.B, p.H, p.T}) : Tensor();
  // bf16 products under MatmulPrecision::kBF16 when in the bf16 kernel's scope, else f32.
  const MatmulPrecision precision = matmul_precision();
  p.bf16_products = precision == MatmulPrecision::kBF16;
  float* lse_ptr = lse.defined() ? lse.data<float>() : nullptr;
  {
    ProfileScope scope("attention forward");
    if (!kernels::attention_forward_flash_bf16(p, out.data<float>(), lse_ptr))
      kernels::attention_forward_flash(p, out.data<float>(), lse_ptr);
  }
  AttentionResult result{q.dtype() != DType::kF32 ? out.to(q.dtype()) : out, opts.return_lse ? lse : Tensor()};
  if (grad)  // attention backward (ops/attention_backward.cpp), from the f32 out and the lse
    autograd::record("attention", {q, k, v}, {&result.out},
                     [q = q.detach(), k = k.detach(), v = v.detach(), out = out.detach(), lse, opts, precision](
                         const std::vector<Tensor>& g, const std::vector<bool>&) {
                       MatmulPrecisionScope scope(precision);  // the backward's kernel is the forward's
                       AttentionGrads d = attention_backward(q, k, v, out, lse, g[0], opts);
                       return std::vector<Tensor>{d.dq, d.dk, d.dv};
                     });
  return result;
}

AttentionReference attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                       const AttentionOptions& opts) {
  ATTN_CHECK(v.defined(), ValueError, "attention_reference: v must be defined");
  AttentionHold hold;
  const AttentionParams p = make_attention_params(q, k, v, opts, hold, "attention_reference");
  std::vector<double> out(p.B * p.H * p.T * p.D), w(p.B * p.H * p.T * p.S), lse(p.B * p.H * p.T);
  kernels::ref::attention_forward(p, out.data(), w.data(), lse.data());
  return {from_doubles(out, {p.B, p.H, p.T, p.D}), from_doubles(w, {p.B, p.H, p.T, p.S}),
          from_doubles(lse, {p.B, p.H, p.T})};
}

Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& lse, const AttentionOptions& opts,
                         const std::vector<int64_t>& heads) {
  AttentionHold hold;
  const AttentionParams p = make_attention_params(q, k, Tensor(), opts, hold, "attention_weights");
  ATTN_CHECK(lse.defined() && lse.dtype() == DType::kF32 && lse.shape() == Shape({p.B, p.H, p.T}), ShapeError,
             "attention_weights: lse must be f32 [B,H,T] = {}, got {}", shape_str({p.B, p.H, p.T}),
             lse.defined() ? lse.str() : "undefined");
  for (int64_t h : heads)
    ATTN_CHECK(h >= 0 && h < p.H, ShapeError, "attention_weights: head {} out of range for q {} (H = {})", h,
               shape_str(q.shape()), p.H);
  const Tensor l = lse.contiguous();
  const auto n = static_cast<int64_t>(heads.size());
  Tensor w = Tensor::empty({p.B, n, p.T, p.S});
  kernels::attention_weights_flash(p, l.data<float>(), heads.data(), n, w.data<float>());
  return w;
}

Tensor key_lengths_mask(const Tensor& key_lengths, int64_t S) {
  ATTN_CHECK(key_lengths.defined() && key_lengths.dim() == 1 &&
                 (key_lengths.dtype() == DType::kI32 || key_lengths.dtype() == DType::kI64),
             ShapeError, "key_lengths: must be i32/i64 [B], got {}",
             key_lengths.defined() ? key_lengths.str() : "undefined");
  const int64_t B = key_lengths.size(0);
  const std::vector<double> lens = key_lengths.to_vector_f64();
  Tensor mask = Tensor::zeros({B, S}, DType::kI32);
  int32_t* m = mask.data<int32_t>();
  for (int64_t b = 0; b < B; ++b) {
    ATTN_CHECK(lens[b] >= 0, ValueError, "key_lengths[{}] = {} is negative", b, lens[b]);
    for (int64_t j = 0; j < S && j < static_cast<int64_t>(lens[b]); ++j) m[b * S + j] = 1;
  }
  return mask;
}

}  // namespace attn
