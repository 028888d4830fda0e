// kernels/cpu/elementwise.cpp — SIMD unary, binary and select kernels (see kernels/elementwise.h).
//
// Compiled once per Highway target (foreach_target.h re-includes this file). The op switch sits
// outside the loops: each op is a lambda passed to a templated loop, so the inner loop is one
// straight SIMD body. Work is split into fixed items of (row, kChunk columns) across OpenMP threads.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/elementwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <algorithm>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kChunk = 8192;          // elements per work item
constexpr int64_t kParallelMin = 1 << 15;  // below this many elements, one thread

// y[0..n) = f(x[0..n)), full vectors then a masked tail.
template <class F>
HWY_INLINE void UnaryRun(const float* x, float* y, int64_t n, const F& f) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) StoreTail(f(d, LoadTail(d, x + i, n - i)), d, y + i, n - i);
}

template <class F>
void UnaryLoop(const float* x, float* y, int64_t n, const F& f) {
  const int64_t items = (n + kChunk - 1) / kChunk;
  parallel_items(items, n >= kParallelMin, [&](int64_t it) {
    const int64_t b = it * kChunk;
    UnaryRun(x + b, y + b, std::min(kChunk, n - b), f);
  });
}

void UnaryImpl(UnaryOp op, const float* x, float* y, int64_t n) {
  switch (op) {
    case UnaryOp::kNeg: return UnaryLoop(x, y, n, [](DF, VF v) { return hn::Neg(v); });
    case UnaryOp::kExp: return UnaryLoop(x, y, n, [](DF d, VF v) { return ExpF(d, v); });
    case UnaryOp::kLog: return UnaryLoop(x, y, n, [](DF d, VF v) { return LogF(d, v); });
    case UnaryOp::kTanh:
      return UnaryLoop(x, y, n, [](DF d, VF v) { return hn::IfThenElse(hn::IsNaN(v), v, hn::Tanh(d, v)); });
    case UnaryOp::kSqrt: return UnaryLoop(x, y, n, [](DF, VF v) { return hn::Sqrt(v); });
    case UnaryOp::kRsqrt:
      return UnaryLoop(x, y, n, [](DF d, VF v) { return hn::Div(hn::Set(d, 1.0f), hn::Sqrt(v)); });
    case UnaryOp::kAbs: return UnaryLoop(x, y, n, [](DF, VF v) { return hn::Abs(v); });
    case UnaryOp::kSquare: return UnaryLoop(x, y, n, [](DF, VF v) { return hn::Mul(v, v); });
    case UnaryOp::kRelu:
      // Gt-select (not Max) so that relu(NaN) = NaN on every target.
      return UnaryLoop(x, y, n, [](DF d, VF v) {
        return hn::IfThenElse(hn::Or(hn::Gt(v, hn::Zero(d)), hn::IsNaN(v)), v, hn::Zero(d));
      });
    case UnaryOp::kSilu: return UnaryLoop(x, y, n, [](DF d, VF v) { return hn::Mul(v, SigmoidF(d, v)); });
    case UnaryOp::kSigmoid: return UnaryLoop(x, y, n, [](DF d, VF v) { return SigmoidF(d, v); });
    case UnaryOp::kGeluErf: return UnaryLoop(x, y, n, [](DF d, VF v) { return GeluErfF(d, v); });
    case UnaryOp::kGeluTanh: return UnaryLoop(x, y, n, [](DF d, VF v) { return GeluTanhF(d, v); });
  }
}

// One row segment of y = f(a, b) with a and b stepping by 0 (broadcast value) or 1.
template <class F>
HWY_INLINE void BinaryRun(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n,
                          const F& f) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF a0 = hn::Set(d, a[0]), b0 = hn::Set(d, b[0]);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const VF va = sa ? hn::LoadU(d, a + i) : a0;
    const VF vb = sb ? hn::LoadU(d, b + i) : b0;
    hn::StoreU(f(d, va, vb), d, y + i);
  }
  if (i < n) {
    const VF va = sa ? LoadTail(d, a + i, n - i) : a0;
    const VF vb = sb ? LoadTail(d, b + i, n - i) : b0;
    StoreTail(f(d, va, vb), d, y + i, n - i);
  }
}

template <class F>
void BinaryLoop(const RowLayout& l, const float* a, const float* b, float* y, const F& f) {
  const int64_t per_row = (l.n + kChunk - 1) / kChunk;
  const int64_t items = l.rows * per_row;
  parallel_items(items, l.rows * l.n >= kParallelMin, [&](int64_t it) {
    const int64_t r = it / per_row, c = (it % per_row) * kChunk;
    const float* ar = a + row_offset(l, 0, r) + c * l.inner[0];
    const float* br = b + row_offset(l, 1, r) + c * l.inner[1];
    BinaryRun(ar, l.inner[0], br, l.inner[1], y + r * l.n + c, std::min(kChunk, l.n - c), f);
  });
}

// Max/Min that return NaN when either input is NaN (x86 max/min would return one operand).
HWY_INLINE VF NanOr(VF a, VF b, VF r) { return hn::IfThenElse(hn::IsNaN(a), a, hn::IfThenElse(hn::IsNaN(b), b, r)); }

void BinaryImpl(BinaryOp op, const RowLayout& l, const float* a, const float* b, float* y) {
  switch (op) {
    case BinaryOp::kAdd: return BinaryLoop(l, a, b, y, [](DF, VF u, VF v) { return hn::Add(u, v); });
    case BinaryOp::kSub: return BinaryLoop(l, a, b, y, [](DF, VF u, VF v) { return hn::Sub(u, v); });
    case BinaryOp::kMul: return BinaryLoop(l, a, b, y, [](DF, VF u, VF v) { return hn::Mul(u, v); });
    case BinaryOp::kDiv: return BinaryLoop(l, a, b, y, [](DF, VF u, VF v) { return hn::Div(u, v); });
    case BinaryOp::kMax:
      return BinaryLoop(l, a, b, y, [](DF, VF u, VF v) { return NanOr(u, v, hn::Max(u, v)); });
    case BinaryOp::kMin:
      return BinaryLoop(l, a, b, y, [](DF, VF u, VF v) { return NanOr(u, v, hn::Min(u, v)); });
  }
}

void SelectImpl(const RowLayout& l, const float* cond, const float* a, const float* b, float* y) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t per_row = (l.n + kChunk - 1) / kChunk;
  const int64_t items = l.rows * per_row;
  parallel_items(items, l.rows * l.n >= kParallelMin, [&](int64_t it) {
    const int64_t r = it / per_row, c0 = (it % per_row) * kChunk;
    const float* ar = a + row_offset(l, 0, r) + c0 * l.inner[0];
    const float* br = b + row_offset(l, 1, r) + c0 * l.inner[1];
    const float* cr = cond + row_offset(l, 2, r) + c0 * l.inner[2];
    float* yr = y + r * l.n + c0;
    const int64_t n = std::min(kChunk, l.n - c0);
    auto load = [&](const float* p, int64_t s, int64_t i) {
      if (s == 0) return hn::Set(d, p[0]);
      return i + N <= n ? hn::LoadU(d, p + i) : LoadTail(d, p + i, n - i);
    };
    for (int64_t i = 0; i < n; i += N) {
      const auto m = hn::Ne(load(cr, l.inner[2], i), hn::Zero(d));
      const VF v = hn::IfThenElse(m, load(ar, l.inner[0], i), load(br, l.inner[1], i));
      if (i + N <= n)
        hn::StoreU(v, d, yr + i);
      else
        StoreTail(v, d, yr + i, n - i);
    }
  });
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(UnaryImpl);
HWY_EXPORT(BinaryImpl);
HWY_EXPORT(SelectImpl);

void unary(UnaryOp op, const float* x, float* y, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(UnaryImpl)(op, x, y, n);
}
void binary(BinaryOp op, const RowLayout& layout, const float* a, const float* b, float* y) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(BinaryImpl)(op, layout, a, b, y);
}
void select(const RowLayout& layout, const float* cond, const float* a, const float* b, float* y) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(SelectImpl)(layout, cond, a, b, y);
}
}  // namespace attn::kernels
#endif
