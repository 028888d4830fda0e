// ops/convert.cpp — to_dtype: vectorised f32 <-> bf16/f16 for contiguous data; every other pair
// through Tensor::to. Always a fresh tensor (a same-dtype call copies).
#include <attn/ops.h>

#include "kernels/convert.h"
#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {

using namespace ops_detail;

Tensor to_dtype_forward(const Tensor& x, DType dtype);

// Backward (float to float only): the gradient converted back to x's dtype.
Tensor to_dtype(const Tensor& x, DType dtype) {
  Tensor y = no_grad([&] { return to_dtype_forward(x, dtype); });
  if (!autograd::needs_grad({&x}) || !dtype_is_float(dtype)) return y;
  autograd::record("to_dtype", {x}, {&y}, [from = x.dtype()](const Grads& g, const Needs&) {
    return Grads{to_dtype(g[0], from)};
  });
  return y;
}

Tensor to_dtype_forward(const Tensor& x, DType dtype) {
  ATTN_CHECK(x.defined(), ShapeError, "to_dtype: x is undefined");
  if (x.dtype() == dtype) return x.clone();
  const DType from = x.dtype();
  const bool half = [](DType t) { return t == DType::kBF16 || t == DType::kF16; }(dtype);
  const bool from_half = from == DType::kBF16 || from == DType::kF16;
  if (!(from == DType::kF32 && half) && !(from_half && dtype == DType::kF32)) return x.to(dtype);
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), dtype);
  const int64_t n = x.numel();
  if (n == 0) return y;
  if (from == DType::kF32) {
    auto* out = static_cast<uint16_t*>(y.raw_data());
    const auto* in = static_cast<const float*>(c.raw_data());
    dtype == DType::kBF16 ? kernels::f32_to_bf16(in, out, n) : kernels::f32_to_f16(in, out, n);
  } else {
    const auto* in = static_cast<const uint16_t*>(c.raw_data());
    auto* out = static_cast<float*>(y.raw_data());
    from == DType::kBF16 ? kernels::bf16_to_f32(in, out, n) : kernels::f16_to_f32(in, out, n);
  }
  return y;
}

}  // namespace attn
