// ops/norm.cpp — LayerNorm and RMSNorm over the last dim, forward and backward (kernels::*_backward).
#include <attn/ops.h>

#include "kernels/norm.h"
#include "kernels/grad.h"
#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {
namespace {
using namespace ops_detail;

// Checks an optional [C] parameter; returns a contiguous copy/view or an undefined tensor.
Tensor checked_param(std::string_view op, const Tensor& p, std::string_view what, const Tensor& x) {
  if (!p.defined()) return p;
  check_f32(op, p, what);
  ATTN_CHECK(p.dim() == 1 && p.size(0) == x.size(-1), ShapeError, "{}: {} {} does not match x {}: want [{}]", op,
             what, shape_str(p.shape()), shape_str(x.shape()), x.size(-1));
  return p.contiguous();
}

void check_input(std::string_view op, const Tensor& x, float eps) {
  check_f32(op, x);
  ATTN_CHECK(x.dim() >= 1 && x.size(-1) > 0, ShapeError, "{}: x must be [...,C] with C > 0, got {}", op, x.str());
  ATTN_CHECK(eps >= 0.0f, ValueError, "{}: eps must be >= 0, got {}", op, eps);
}

const float* ptr_or_null(const Tensor& t) { return t.defined() ? fptr(t) : nullptr; }

}  // namespace

LayerNormResult layer_norm_with_stats(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  check_input("layer_norm", x, eps);
  const Tensor w = checked_param("layer_norm", weight, "weight", x);
  const Tensor b = checked_param("layer_norm", bias, "bias", x);
  const Tensor c = x.contiguous();
  const int64_t C = x.size(-1), rows = x.numel() / C;
  Shape stat_shape(x.shape().begin(), x.shape().end() - 1);
  LayerNormResult r{Tensor::empty(x.shape()), Tensor::empty(stat_shape), Tensor::empty(stat_shape)};
  if (rows > 0)
    kernels::layer_norm_rows(fptr(c), ptr_or_null(w), ptr_or_null(b), fptr_mut(r.y), fptr_mut(r.mean),
                             fptr_mut(r.rstd), rows, C, eps);
  return r;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  if (autograd::needs_grad({&x, &weight, &bias})) {
    LayerNormResult r = no_grad([&] { return layer_norm_with_stats(x, weight, bias, eps); });
    autograd::record("layer_norm", {x, weight, bias}, {&r.y},
                     [x = x.detach().contiguous(), w = weight.defined() ? weight.detach().contiguous() : Tensor(),
                      has_bias = bias.defined(), mean = r.mean, rstd = r.rstd](const Grads& g, const Needs& n) {
                       const int64_t C = x.size(-1), rows = x.numel() / C;
                       const Tensor gc = g[0].contiguous();
                       Tensor dx = Tensor::empty(x.shape());
                       Tensor dw = n[1] ? Tensor::empty({C}) : Tensor(), db = n[2] ? Tensor::empty({C}) : Tensor();
                       kernels::layer_norm_backward(fptr(x), w.defined() ? fptr(w) : nullptr, fptr(mean), fptr(rstd),
                                                    fptr(gc), fptr_mut(dx), n[1] ? fptr_mut(dw) : nullptr,
                                                    n[2] ? fptr_mut(db) : nullptr, rows, C);
                       return Grads{n[0] ? dx : Tensor(), dw, has_bias ? db : Tensor()};
                     });
    return r.y;
  }
  check_input("layer_norm", x, eps);
  const Tensor w = checked_param("layer_norm", weight, "weight", x);
  const Tensor b = checked_param("layer_norm", bias, "bias", x);
  const Tensor c = x.contiguous();
  const int64_t C = x.size(-1), rows = x.numel() / C;
  Tensor y = Tensor::empty(x.shape());
  if (rows > 0)
    kernels::layer_norm_rows(fptr(c), ptr_or_null(w), ptr_or_null(b), fptr_mut(y), nullptr, nullptr, rows, C, eps);
  return y;
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  if (autograd::needs_grad({&x, &weight})) {
    Tensor y = no_grad([&] { return rms_norm(x, weight, eps); });
    autograd::record("rms_norm", {x, weight}, {&y},
                     [x = x.detach().contiguous(), w = weight.defined() ? weight.detach().contiguous() : Tensor(),
                      eps](const Grads& g, const Needs& n) {
                       const int64_t C = x.size(-1), rows = x.numel() / C;
                       const Tensor gc = g[0].contiguous();
                       Tensor dx = Tensor::empty(x.shape());
                       Tensor dw = n[1] ? Tensor::empty({C}) : Tensor();
                       kernels::rms_norm_backward(fptr(x), w.defined() ? fptr(w) : nullptr, fptr(gc), fptr_mut(dx),
                                                  n[1] ? fptr_mut(dw) : nullptr, rows, C, eps);
                       return Grads{n[0] ? dx : Tensor(), dw};
                     });
    return y;
  }
  check_input("rms_norm", x, eps);
  const Tensor w = checked_param("rms_norm", weight, "weight", x);
  const Tensor c = x.contiguous();
  const int64_t C = x.size(-1), rows = x.numel() / C;
  Tensor y = Tensor::empty(x.shape());
  if (rows > 0) kernels::rms_norm_rows(fptr(c), ptr_or_null(w), fptr_mut(y), nullptr, rows, C, eps);
  return y;
}

}  // namespace attn
