// kernels/elementwise.h — element-wise unary, binary and select kernels over raw f32 pointers.
//
//   attn::kernels::unary(UnaryOp::kGeluTanh, x, y, n);            // y[i] = gelu(x[i]); may alias
//   RowLayout l = ...;                                            // built by ops/ from broadcast shapes
//   attn::kernels::binary(BinaryOp::kAdd, l, a, b, y);            // y = a + b over rows × n
//
// Broadcasting is described, not materialised: the output is `rows` contiguous rows of `n`
// elements; output row r corresponds to an outer index (i0..i_{ndim-1}) in row-major order over
// `size`, and operand k's row r starts at sum(i_d · stride[k][d]) and steps by inner[k] ∈ {0,1}
// inside the row (0 = one value repeated). ops/ coalesces dims so rows is small and n large.
// Threads over rows (attn::num_threads()); SIMD via Highway, dispatched once per call.
#pragma once

#include <cstdint>

namespace attn::kernels {

enum class UnaryOp {
  kNeg, kExp, kLog, kTanh, kSqrt, kRsqrt, kAbs, kSquare,
  kRelu, kSilu, kSigmoid, kGeluErf, kGeluTanh,
};
enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin };

constexpr int kMaxRowDims = 8;
struct RowLayout {
  int64_t rows = 1;                 // product of size[0..ndim)
  int64_t n = 1;                    // elements per row
  int ndim = 0;                     // outer dims (0: a single row)
  int64_t size[kMaxRowDims] = {};
  int64_t stride[3][kMaxRowDims] = {};  // per operand (a, b, cond), in elements
  int64_t inner[3] = {1, 1, 1};         // per operand: 0 or 1
};

// Start of operand k's row r (a few integer divisions; called once per row, not per element).
inline int64_t row_offset(const RowLayout& l, int k, int64_t r) {
  int64_t off = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    off += (r % l.size[d]) * l.stride[k][d];
    r /= l.size[d];
  }
  return off;
}

// y[i] = op(x[i]) for i < n; x and y may be the same pointer.
void unary(UnaryOp op, const float* x, float* y, int64_t n);
// y (contiguous, rows·n) = op(a, b) over `layout` (operands 0 = a, 1 = b).
void binary(BinaryOp op, const RowLayout& layout, const float* a, const float* b, float* y);
// y (contiguous) = cond != 0 ? a : b over `layout` (operands 0 = a, 1 = b, 2 = cond).
void select(const RowLayout& layout, const float* cond, const float* a, const float* b, float* y);

namespace ref {
void unary(UnaryOp op, const float* x, float* y, int64_t n);
void binary(BinaryOp op, const RowLayout& layout, const float* a, const float* b, float* y);
void select(const RowLayout& layout, const float* cond, const float* a, const float* b, float* y);
// The scalar definition of each op in float64 (shared by the ref twins and by tests).
double unary_value(UnaryOp op, double x);
double binary_value(BinaryOp op, double a, double b);
}  // namespace ref

}  // namespace attn::kernels
