// kernels/cpu/optimizer.cpp — SIMD AdamW update and Σg² (see kernels/optimizer.h).
//
// Compiled once per Highway target. Both were plain `omp simd` loops, but the library is built for
// baseline x86-64, so AdamW vectorised to 128-bit SSE only and the ordered double sum of Σg² did not
// vectorise at all (objdump: cvtss2sd/mulsd/addsd); here they use the full vector width.
//
// AdamW: each element is independent, so any split over threads gives identical results.
// Σg²: fixed kSumChunk-element chunks, each summed exactly as a function of its data (g promoted to
// f64 lanes, squared exactly, two f64 accumulators, lanes then the scalar tail added in order), and
// the chunk sums combined in chunk order: independent of the thread count.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/optimizer.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/optimizer.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kChunk = 1 << 14;        // AdamW elements per work item
constexpr int64_t kParallelMin = 1 << 15;  // below this many elements, one thread
constexpr int64_t kSumChunk = 4096;        // Σg² elements per partial sum (fixed: determinism)

// p, g, m, v: [n]; the torch.optim.AdamW formula of optimizer.h, in f32 with FMAs.
HWY_INLINE void AdamWRun(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF b1 = hn::Set(d, s.beta1), c1 = hn::Set(d, 1.0f - s.beta1);
  const VF b2 = hn::Set(d, s.beta2), c2 = hn::Set(d, 1.0f - s.beta2);
  const VF decay = hn::Set(d, 1.0f - s.lr * s.weight_decay), step = hn::Set(d, s.lr / s.bias_correction1);
  const VF inv_bc2 = hn::Set(d, 1.0f / s.bias_correction2_sqrt), eps = hn::Set(d, s.eps);
  const VF gs = hn::Set(d, s.grad_scale);
  auto update = [&](VF vp, VF vg, VF& vm, VF& vv) {
    vg = hn::Mul(vg, gs);  // exact when 1; else the product clip_grad_norm would have stored
    vm = hn::MulAdd(b1, vm, hn::Mul(c1, vg));
    vv = hn::MulAdd(b2, vv, hn::Mul(hn::Mul(c2, vg), vg));
    const VF denom = hn::MulAdd(hn::Sqrt(vv), inv_bc2, eps);
    return hn::NegMulAdd(step, hn::Div(vm, denom), hn::Mul(vp, decay));
  };
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    VF vm = hn::LoadU(d, m + i), vv = hn::LoadU(d, v + i);
    const VF vp = update(hn::LoadU(d, p + i), hn::LoadU(d, g + i), vm, vv);
    hn::StoreU(vm, d, m + i);
    hn::StoreU(vv, d, v + i);
    hn::StoreU(vp, d, p + i);
  }
  if (i < n) {
    const size_t c = static_cast<size_t>(n - i);
    VF vm = LoadTail(d, m + i, c), vv = LoadTail(d, v + i, c);
    const VF vp = update(LoadTail(d, p + i, c), LoadTail(d, g + i, c), vm, vv);
    StoreTail(vm, d, m + i, c);
    StoreTail(vv, d, v + i, c);
    StoreTail(vp, d, p + i, c);
  }
}

void AdamWImpl(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  const int64_t items = (n + kChunk - 1) / kChunk;
  parallel_items(items, n >= kParallelMin, [&](int64_t it) {
    const int64_t b = it * kChunk;
    AdamWRun(p + b, g + b, m + b, v + b, std::min(kChunk, n - b), s);
  });
}

// Σ g[i]² over n elements in double: f32 -> f64 lanes (squares exact), fixed order.
HWY_INLINE double SumSquaresRun(const float* g, int64_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dh;  // as many floats as dd has doubles
  const int64_t N = static_cast<int64_t>(hn::Lanes(dd));
  auto acc = hn::Zero(dd), acc2 = hn::Zero(dd);
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a = hn::PromoteTo(dd, hn::LoadU(dh, g + i)), b = hn::PromoteTo(dd, hn::LoadU(dh, g + i + N));
    acc = hn::MulAdd(a, a, acc);
    acc2 = hn::MulAdd(b, b, acc2);
  }
  alignas(64) double lanes[HWY_MAX_BYTES / sizeof(double)];
  hn::Store(hn::Add(acc, acc2), dd, lanes);
  double s = 0;
  for (int64_t k = 0; k < N; ++k) s += lanes[k];
  for (; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  return s;
}

double SumSquaresImpl(const float* g, int64_t n) {
  const int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_items(chunks, n >= kParallelMin, [&](int64_t c) {
    partial[static_cast<size_t>(c)] = SumSquaresRun(g + c * kSumChunk, std::min(kSumChunk, n - c * kSumChunk));
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(AdamWImpl);
HWY_EXPORT(SumSquaresImpl);

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(AdamWImpl)(p, g, m, v, n, s);
}
double sum_squares(const float* g, int64_t n) {
  select_cpu_target();
  return HWY_DYNAMIC_DISPATCH(SumSquaresImpl)(g, n);
}
}  // namespace attn::kernels
#endif
