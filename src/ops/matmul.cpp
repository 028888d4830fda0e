// ops/matmul.cpp — matmul (batched, broadcasting) and linear, on kernels::sgemm.
//
// Views go to the GEMM without copies whenever their layout allows: a matrix whose column stride
// is 1 is passed as is, one whose row stride is 1 as a transposed operand, and leading (batch)
// dims that collapse to a single stride become the batch stride (0 for a broadcast operand).
// Anything else is copied contiguous first. When B is shared by every batch item and A's rows are
// evenly spaced across the batch, the batch is folded into M: one large GEMM instead of many.
// linear() under MatmulPrecision::kBF16 keeps bf16 copies of x and w for its backward (half the
// memory of the f32 x it would otherwise keep) and runs its three products on kernels::gemm_bf16.
#include <attn/ops.h>
#include <attn/threads.h>

#include <cstring>

#include "kernels/convert.h"
#include "kernels/gemm.h"
#include "ops/grad_util.h"
#include "ops/linear_util.h"
#include "ops/ops_util.h"

namespace attn {
namespace {
using namespace ops_detail;

// A [batch..., R, C] view as the GEMM sees it.
struct GemmOperand {
  Tensor keep;  // owns the data (the view itself or a contiguous copy)
  const float* p = nullptr;
  bool trans = false;
  int64_t ld = 0, batch_stride = 0;
};

// Fills g from t's strides; false when the layout needs a copy.
bool describe(const Tensor& t, GemmOperand& g) {
  const int64_t nb = t.dim() - 2, R = t.size(-2), C = t.size(-1), sR = t.stride(-2), sC = t.stride(-1);
  if (sC == 1 && (R == 1 || sR >= std::max<int64_t>(C, 1))) {
    g.trans = false, g.ld = R == 1 ? std::max<int64_t>(C, 1) : sR;
  } else if (sR == 1 && (C == 1 || sC >= std::max<int64_t>(R, 1))) {
    g.trans = true, g.ld = C == 1 ? std::max<int64_t>(R, 1) : sC;
  } else {
    return false;
  }
  // One stride for the flattened batch: the innermost non-1 batch dim's, consistent outward.
  int64_t s = 0, span = 1;
  bool have = false;
  for (int64_t d = nb - 1; d >= 0; --d) {
    if (t.size(d) == 1) continue;
    if (!have) s = t.stride(d), have = true;
    else if (t.stride(d) != s * span) return false;
    span *= t.size(d);
  }
  g.batch_stride = s;
  g.keep = t;
  g.p = fptr(t);
  return true;
}

GemmOperand gemm_operand(const Tensor& t) {
  GemmOperand g;
  if (!describe(t, g)) describe(t.contiguous(), g);
  return g;
}

Tensor matmul_forward(const Tensor& a_in, const Tensor& b_in) {
  check_f32("matmul", a_in, "a");
  check_f32("matmul", b_in, "b");
  ATTN_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, ShapeError, "matmul: a {} and b {} must have at least 1 dim",
             a_in.str(), b_in.str());
  const Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;  // [K] -> [1,K]
  const Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;  // [K] -> [K,1]
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  ATTN_CHECK(b.size(-2) == K, ShapeError, "matmul: a {} and b {} do not fit: a.size(-1)={} != b.size(-2)={}",
             shape_str(a_in.shape()), shape_str(b_in.shape()), K, b.size(-2));
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(a_batch, b_batch);
  } catch (const ShapeError&) {
    ATTN_CHECK(false, ShapeError, "matmul: batch dims of a {} and b {} do not broadcast", shape_str(a_in.shape()),
               shape_str(b_in.shape()));
  }
  Shape a_full = batch, b_full = batch, out_shape = batch;
  a_full.insert(a_full.end(), {M, K});
  b_full.insert(b_full.end(), {K, N});
  out_shape.insert(out_shape.end(), {M, N});
  Tensor y = K > 0 ? Tensor::empty(out_shape) : Tensor::zeros(out_shape);  // beta = 0 writes every element
  const int64_t nbatch = shape_numel(batch);
  if (y.numel() > 0 && K > 0) {
    const GemmOperand ga = gemm_operand(a.expand(a_full)), gb = gemm_operand(b.expand(b_full));
    if (gb.batch_stride == 0 && !ga.trans && nbatch > 1 && ga.batch_stride == M * ga.ld) {
      kernels::sgemm(false, gb.trans, nbatch * M, N, K, 1.0f, ga.p, ga.ld, gb.p, gb.ld, 0.0f, fptr_mut(y), N);
    } else {
      kernels::sgemm_batched(ga.trans, gb.trans, M, N, K, 1.0f, ga.p, ga.ld, ga.batch_stride, gb.p, gb.ld,
                             gb.batch_stride, 0.0f, fptr_mut(y), N, M * N, nbatch);
    }
  }
  if (a_in.dim() == 1) y = y.squeeze(y.dim() - 2);
  if (b_in.dim() == 1) y = y.squeeze(y.dim() - 1);
  return y;
}

}  // namespace

namespace ops_detail {
void check_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_f32("linear", x, "x");
  check_f32("linear", w, "weight");
  ATTN_CHECK(w.dim() == 2, ShapeError, "linear: weight must be [out,in], got {}", w.str());
  const int64_t out = w.size(0), in = w.size(1);
  ATTN_CHECK(x.dim() >= 1 && x.size(-1) == in, ShapeError, "linear: x {} does not fit weight {}: x.size(-1) must be {}",
             shape_str(x.shape()), shape_str(w.shape()), in);
  if (b.defined()) {
    check_f32("linear", b, "bias");
    ATTN_CHECK(b.dim() == 1 && b.size(0) == out, ShapeError, "linear: bias {} does not fit weight {}: want [{}]",
               shape_str(b.shape()), shape_str(w.shape()), out);
  }
}

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_linear(x, w, b);
  const int64_t out = w.size(0), in = w.size(1);
  const int64_t rows = x.numel() / std::max<int64_t>(in, 1);
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape);
  if (y.numel() == 0) return y;
  float* yp = fptr_mut(y);
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  if (in == 0) {  // no products: y is the bias rows (or zeros)
    parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(out, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (bc.defined()) std::memcpy(yp + r * out, fptr(bc), sizeof(float) * out);
        else std::memset(yp + r * out, 0, sizeof(float) * out);
      }
    });
    return y;
  }
  // The bias goes to the GEMM, which fuses it (oneDNN) or adds it after.
  const GemmOperand gx = gemm_operand(x.reshape({rows, in})), gw = gemm_operand(w.transpose(0, 1));
  kernels::sgemm(gx.trans, gw.trans, rows, out, in, 1.0f, gx.p, gx.ld, gw.p, gw.ld, 0.0f, yp, out,
                 bc.defined() ? fptr(bc) : nullptr);
  return y;
}

// [rows, cols] bf16 copy of the f32 matrix t (any layout).
Tensor to_bf16_matrix(const Tensor& t, int64_t rows, int64_t cols) {
  const Tensor c = t.contiguous();
  Tensor out = Tensor::empty({rows, cols}, DType::kBF16);
  kernels::f32_to_bf16(fptr(c), static_cast<uint16_t*>(out.raw_data()), rows * cols);
  return out;
}
const uint16_t* bptr(const Tensor& t) { return static_cast<const uint16_t*>(t.raw_data()); }

// y [rows, out] = xb [rows, in] · wbᵀ + b, bf16 operands and f32 accumulation.
void linear_bf16_forward(const Tensor& xb, const Tensor& wb, const Tensor& b, Tensor& y) {
  const int64_t rows = xb.size(0), in = xb.size(1), out = wb.size(0);
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  kernels::gemm_bf16(false, true, rows, out, in, 1.0f, bptr(xb), in, bptr(wb), in, 0.0f, fptr_mut(y), out,
                     b.defined() ? fptr(bc) : nullptr);
}

}  // namespace ops_detail

namespace {
thread_local MatmulPrecision t_precision = MatmulPrecision::kF32;
}  // namespace

MatmulPrecision matmul_precision() { return t_precision; }
MatmulPrecisionScope::MatmulPrecisionScope(MatmulPrecision p) : previous_(t_precision) { t_precision = p; }
MatmulPrecisionScope::~MatmulPrecisionScope() { t_precision = previous_; }

// Backward: with a, b promoted to matrices (1-D operands get their unit dim back),
//   da = g · bᵀ and db = aᵀ · g, each summed over the batch dims its operand was broadcast along.
Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor y = no_grad([&] { return matmul_forward(a, b); });
  if (!autograd::needs_grad({&a, &b})) return y;
  autograd::record("matmul", {a, b}, {&y}, [a = a.detach(), b = b.detach()](const Grads& g, const Needs& n) {
    const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
    const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
    Tensor g2 = g[0];
    if (b.dim() == 1) g2 = g2.unsqueeze(g2.dim());
    if (a.dim() == 1) g2 = g2.unsqueeze(g2.dim() - 1);
    Grads out(2);
    if (n[0]) out[0] = reduce_to_shape(matmul(g2, transpose_last2(b2)), a2.shape()).reshape(a.shape());
    if (n[1]) out[1] = reduce_to_shape(matmul(transpose_last2(a2), g2), b2.shape()).reshape(b.shape());
    return out;
  });
  return y;
}

// bf16 linear: the forward above on bf16 copies; the backward rounds g to bf16 once (summing its
// columns into db, f32, in the same pass) and runs dx = g·w and dw = gᵀ·x on gemm_bf16 with the
// copies the forward kept.
static Tensor linear_bf16(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t out = w.size(0), in = w.size(1), rows = x.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor xb, wb, y = Tensor::empty(out_shape);
  {
    NoGradGuard no_record;  // the bf16 copies (and contiguous() of a view) stay out of the graph
    xb = to_bf16_matrix(x, rows, in), wb = to_bf16_matrix(w, out, in);
    linear_bf16_forward(xb, wb, b, y);
  }
  if (!autograd::needs_grad({&x, &w, &b})) return y;
  autograd::record("linear", {x, w, b}, {&y}, [xb, wb, x_shape = x.shape()](const Grads& g, const Needs& n) {
    const int64_t rows = xb.size(0), in = xb.size(1), out = wb.size(0);
    const Tensor g2 = g[0].reshape({rows, out}).contiguous();
    Grads r(3);
    Tensor gb;
    if (n[2]) {  // the bias gradient (column sums of g) in the same pass as the rounding
      gb = Tensor::empty({rows, out}, DType::kBF16);
      r[2] = Tensor::empty({out});
      kernels::f32_to_bf16_colsum(fptr(g2), static_cast<uint16_t*>(gb.raw_data()), fptr_mut(r[2]), rows, out);
    } else {
      gb = to_bf16_matrix(g2, rows, out);
    }
    if (n[0]) {
      r[0] = Tensor::empty(x_shape);
      kernels::gemm_bf16(false, false, rows, in, out, 1.0f, bptr(gb), out, bptr(wb), in, 0.0f, fptr_mut(r[0]), in);
    }
    if (n[1]) {
      r[1] = Tensor::empty({out, in});
      kernels::gemm_bf16(true, false, out, in, rows, 1.0f, bptr(gb), out, bptr(xb), in, 0.0f, fptr_mut(r[1]), in);
    }
    return r;
  });
  return y;
}

// Backward: rows = every leading index; dx = g·w, dw = gᵀ·x over the rows, db = Σ_rows g.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  if (t_precision == MatmulPrecision::kBF16) {
    check_linear(x, w, b);
    if (x.numel() > 0 && w.numel() > 0) return linear_bf16(x, w, b);
  }
  Tensor y = no_grad([&] { return linear_forward(x, w, b); });
  if (!autograd::needs_grad({&x, &w, &b})) return y;
  autograd::record("linear", {x, w, b}, {&y}, [x = x.detach(), w = w.detach()](const Grads& g, const Needs& n) {
    const int64_t in = w.size(1), out = w.size(0);
    const int64_t rows = in > 0 ? x.numel() / in : 0;
    const Tensor g2 = g[0].reshape({rows, out});
    Grads r(3);
    if (n[0]) r[0] = matmul(g[0], w);
    if (n[1]) r[1] = matmul(transpose_last2(g2), x.reshape({rows, in}));
    if (n[2]) r[2] = sum(g2, 0);
    return r;
  });
  return y;
}

}  // namespace attn
