// ops/mlp.cpp — the fused MLP: linear(act(linear(x, w1, b1)), w2, b2) as one op (see attn/ops.h).
//
// Either precision: one autograd node whose forward and backward are the composition of linear() and
// the activation op step for step, with the same bits.
// - f32: the same GEMMs and kernels; the backward computes the activation's gradient in place over
//   g·w2 and sums its columns (the first bias's gradient) in the same pass
//   (kernels::unary_backward_colsum): one pass over [rows, F] and two autograd nodes fewer.
// - bf16 matmul precision: the same GEMMs on the same bf16 operands, the same activation and
//   derivative kernels, the same rounding and column-sum order, except that the [rows, F] activation
//   is written straight to bf16 (kernels::unary_to_bf16) and its gradient straight to bf16 with the
//   bias gradient (kernels::unary_backward_to_bf16_colsum): two f32 passes over [rows, F] fewer each way.
#include <attn/ops.h>

#include "kernels/bf16_fused.h"
#include "kernels/convert.h"
#include "kernels/gemm.h"
#include "kernels/grad.h"
#include "kernels/reduce.h"
#include "ops/grad_util.h"
#include "ops/linear_util.h"
#include "ops/ops_util.h"

namespace attn {
namespace {
using namespace ops_detail;

kernels::UnaryOp unary_of(MlpActivation a) {
  switch (a) {
    case MlpActivation::kRelu: return kernels::UnaryOp::kRelu;
    case MlpActivation::kGelu: return kernels::UnaryOp::kGeluErf;
    case MlpActivation::kGeluTanh: return kernels::UnaryOp::kGeluTanh;
    case MlpActivation::kSilu: return kernels::UnaryOp::kSilu;
  }
  return kernels::UnaryOp::kGeluErf;
}

Tensor activate(const Tensor& h, MlpActivation a) {
  switch (a) {
    case MlpActivation::kRelu: return relu(h);
    case MlpActivation::kGelu: return gelu(h, GeluApprox::kNone);
    case MlpActivation::kGeluTanh: return gelu(h, GeluApprox::kTanh);
    case MlpActivation::kSilu: return silu(h);
  }
  return h;
}

// What the bf16 backward needs: the bf16 copies the GEMMs read and the pre-activation h.
struct MlpSaved {
  Tensor xb, w1b, w2b, h, ab;  // [R,C], [F,C], [C,F] bf16; h [R,F] f32; ab = bf16(act(h)) [R,F]
  Shape x_shape;
  kernels::UnaryOp op;
};

// Grads of (x, w1, b1, w2, b2) from g = dL/dy; only those wanted.
Grads mlp_bf16_backward(const MlpSaved& s, const Tensor& gy, const Needs& n) {
  const int64_t R = s.xb.size(0), C = s.xb.size(1), F = s.w1b.size(0);
  const Tensor g = gy.reshape({R, C}).contiguous();
  Grads r(5);
  Tensor gb = Tensor::empty({R, C}, DType::kBF16);
  if (n[4]) {
    r[4] = Tensor::empty({C});
    kernels::f32_to_bf16_colsum(fptr(g), static_cast<uint16_t*>(gb.raw_data()), fptr_mut(r[4]), R, C);
  } else {
    gb = to_bf16_matrix(g, R, C);
  }
  if (n[3]) {  // dw2 = gᵀ·a
    r[3] = Tensor::empty({C, F});
    kernels::gemm_bf16(true, false, C, F, R, 1.0f, bptr(gb), C, bptr(s.ab), F, 0.0f, fptr_mut(r[3]), F);
  }
  if (!(n[0] || n[1] || n[2])) return r;
  Tensor da = Tensor::empty({R, F});  // da = g·w2, then dh = da·act'(h) in bf16 (+ db1)
  kernels::gemm_bf16(false, false, R, F, C, 1.0f, bptr(gb), C, bptr(s.w2b), F, 0.0f, fptr_mut(da), F);
  Tensor dhb = Tensor::empty({R, F}, DType::kBF16);
  if (n[2]) r[2] = Tensor::empty({F});
  kernels::unary_backward_to_bf16_colsum(s.op, fptr(s.h), nullptr, fptr(da), static_cast<uint16_t*>(dhb.raw_data()),
                                         n[2] ? fptr_mut(r[2]) : nullptr, R, F);
  if (n[0]) {  // dx = dh·w1
    r[0] = Tensor::empty(s.x_shape);
    kernels::gemm_bf16(false, false, R, C, F, 1.0f, bptr(dhb), F, bptr(s.w1b), C, 0.0f, fptr_mut(r[0]), C);
  }
  if (n[1]) {  // dw1 = dhᵀ·x
    r[1] = Tensor::empty({F, C});
    kernels::gemm_bf16(true, false, F, C, R, 1.0f, bptr(dhb), F, bptr(s.xb), C, 0.0f, fptr_mut(r[1]), C);
  }
  return r;
}

Tensor mlp_bf16(const Tensor& x, const Tensor& w1, const Tensor& b1, MlpActivation act, const Tensor& w2,
                const Tensor& b2) {
  const int64_t C = w1.size(1), F = w1.size(0), R = x.numel() / C;
  MlpSaved s{.x_shape = x.shape(), .op = unary_of(act)};
  Shape y_shape = x.shape();
  y_shape.back() = w2.size(0);
  Tensor y = Tensor::empty(y_shape);
  {
    NoGradGuard no_record;  // the bf16 copies (and contiguous() of a view) stay out of the graph
    s.xb = to_bf16_matrix(x, R, C), s.w1b = to_bf16_matrix(w1, F, C), s.w2b = to_bf16_matrix(w2, w2.size(0), F);
    s.h = Tensor::empty({R, F});
    linear_bf16_forward(s.xb, s.w1b, b1, s.h);
    s.ab = Tensor::empty({R, F}, DType::kBF16);
    kernels::unary_to_bf16(s.op, fptr(s.h), static_cast<uint16_t*>(s.ab.raw_data()), R * F);
    Tensor y2 = y.reshape({R, w2.size(0)});
    linear_bf16_forward(s.ab, s.w2b, b2, y2);
  }
  if (!autograd::needs_grad({&x, &w1, &b1, &w2, &b2})) return y;
  autograd::record("mlp", {x, w1, b1, w2, b2}, {&y},
                   [s = std::move(s)](const Grads& g, const Needs& n) { return mlp_bf16_backward(s, g[0], n); });
  return y;
}
// What the f32 backward needs: x as [R,C] rows, the weights, h = x·w1ᵀ + b1 and a = act(h).
struct MlpF32Saved {
  Tensor x, w1, w2, h, a;
  Shape x_shape;
  kernels::UnaryOp op;
};

// Grads of (x, w1, b1, w2, b2) from g = dL/dy, as linear()'s and the activation's backwards compute
// them (same GEMM calls, same kernels); only those wanted.
Grads mlp_f32_backward(const MlpF32Saved& s, const Tensor& gy, const Needs& n) {
  const int64_t R = s.x.size(0), C = s.x.size(1), F = s.w1.size(0), O = s.w2.size(0);
  const Tensor g = gy.reshape({R, O}).contiguous();
  Grads r(5);
  if (n[4]) {  // db2 = Σ_rows g
    r[4] = Tensor::empty({O});
    kernels::reduce_axis(kernels::ReduceOp::kSum, fptr(g), fptr_mut(r[4]), 1, R, O);
  }
  if (n[3]) {  // dw2 = gᵀ·a
    r[3] = Tensor::empty({O, F});
    kernels::sgemm(true, false, O, F, R, 1.0f, fptr(g), O, fptr(s.a), F, 0.0f, fptr_mut(r[3]), F);
  }
  if (!(n[0] || n[1] || n[2])) return r;
  Tensor dh = Tensor::empty({R, F});  // da = g·w2, then dh = da·act'(h) in place (+ db1)
  kernels::sgemm(false, false, R, F, O, 1.0f, fptr(g), O, fptr(s.w2), F, 0.0f, fptr_mut(dh), F);
  if (n[2]) {
    r[2] = Tensor::empty({F});
    kernels::unary_backward_colsum(s.op, fptr(s.h), fptr(s.a), fptr(dh), fptr_mut(dh), fptr_mut(r[2]), R, F);
  } else {
    kernels::unary_backward(s.op, fptr(s.h), fptr(s.a), fptr(dh), fptr_mut(dh), R * F);
  }
  if (n[0]) {  // dx = dh·w1
    r[0] = Tensor::empty(s.x_shape);
    kernels::sgemm(false, false, R, C, F, 1.0f, fptr(dh), F, fptr(s.w1), C, 0.0f, fptr_mut(r[0]), C);
  }
  if (n[1]) {  // dw1 = dhᵀ·x
    r[1] = Tensor::empty({F, C});
    kernels::sgemm(true, false, F, C, R, 1.0f, fptr(dh), F, fptr(s.x), C, 0.0f, fptr_mut(r[1]), C);
  }
  return r;
}

Tensor mlp_f32(const Tensor& x, const Tensor& w1, const Tensor& b1, MlpActivation act, const Tensor& w2,
               const Tensor& b2) {
  const int64_t C = w1.size(1), R = x.numel() / C;
  MlpF32Saved s{.x_shape = x.shape(), .op = unary_of(act)};
  Tensor y;
  {
    NoGradGuard no_record;
    s.x = x.reshape({R, C}).contiguous();
    s.w1 = w1.contiguous(), s.w2 = w2.contiguous();
    s.h = linear_forward(s.x, s.w1, b1);
    s.a = Tensor::empty(s.h.shape());
    kernels::unary(s.op, fptr(s.h), fptr_mut(s.a), s.h.numel());
    y = linear_forward(s.a, s.w2, b2);
    Shape y_shape = x.shape();
    y_shape.back() = w2.size(0);
    y = y.view(y_shape);
  }
  if (!autograd::needs_grad({&x, &w1, &b1, &w2, &b2})) return y;
  autograd::record("mlp", {x, w1, b1, w2, b2}, {&y},
                   [s = std::move(s)](const Grads& g, const Needs& n) { return mlp_f32_backward(s, g[0], n); });
  return y;
}
}  // namespace

Tensor mlp(const Tensor& x, const Tensor& w1, const Tensor& b1, MlpActivation act, const Tensor& w2,
           const Tensor& b2) {
  check_linear(x, w1, b1);
  ATTN_CHECK(w2.defined() && w2.dim() == 2 && w2.size(1) == w1.size(0), ShapeError,
             "mlp: w2 {} does not fit w1 {}: want [out, {}]", w2.defined() ? shape_str(w2.shape()) : "undefined",
             shape_str(w1.shape()), w1.size(0));
  check_f32("mlp", w2, "w2");
  if (b2.defined()) {
    check_f32("mlp", b2, "b2");
    ATTN_CHECK(b2.dim() == 1 && b2.size(0) == w2.size(0), ShapeError, "mlp: b2 {} does not fit w2 {}: want [{}]",
               shape_str(b2.shape()), shape_str(w2.shape()), w2.size(0));
  }
  if (x.numel() == 0 || w1.numel() == 0 || w2.numel() == 0) return linear(activate(linear(x, w1, b1), act), w2, b2);
  if (matmul_precision() == MatmulPrecision::kBF16) return mlp_bf16(x, w1, b1, act, w2, b2);
  return mlp_f32(x, w1, b1, act, w2, b2);
}

}  // namespace attn
