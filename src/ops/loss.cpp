// ops/loss.cpp — cross-entropy: forward and backward side by side.
#include <attn/autograd.h>
#include <attn/loss.h>

#include "kernels/cross_entropy.h"

namespace attn {

namespace {

// targets as contiguous i64, each checked against [0,V) or ignore_index.
Tensor checked_targets(const Tensor& targets, int64_t v, int64_t ignore_index) {
  const Tensor t = targets.to(DType::kI64);
  const int64_t* p = t.data<int64_t>();
  for (int64_t r = 0; r < t.numel(); ++r)
    ATTN_CHECK(p[r] == ignore_index || (p[r] >= 0 && p[r] < v), ShapeError,
               "cross_entropy: target {} of row {} is outside [0,{}) and is not ignore_index ({})", p[r], r, v,
               ignore_index);
  return t;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& opts) {
  ATTN_CHECK(logits.dim() == 2 && logits.dtype() == DType::kF32, ShapeError,
             "cross_entropy: logits must be f32 [N,V], got {}", logits.str());
  ATTN_CHECK(targets.dim() == 1 && (targets.dtype() == DType::kI64 || targets.dtype() == DType::kI32), ShapeError,
             "cross_entropy: targets must be i32/i64 [N], got {}", targets.str());
  const int64_t n = logits.size(0), v = logits.size(1);
  ATTN_CHECK(targets.size(0) == n, ShapeError, "cross_entropy: logits {} and targets {} disagree on N",
             logits.str(), targets.str());
  ATTN_CHECK(v > 0, ShapeError, "cross_entropy: logits {} have no classes", logits.str());
  ATTN_CHECK(opts.label_smoothing >= 0.0f && opts.label_smoothing < 1.0f, ValueError,
             "cross_entropy: label_smoothing must be in [0,1), got {}", opts.label_smoothing);

  const Tensor x = logits.contiguous();
  const Tensor t = checked_targets(targets, v, opts.ignore_index);
  Tensor rows = Tensor::empty({n});
  kernels::cross_entropy_forward(x.data<float>(), t.data<int64_t>(), rows.data<float>(), n, v, opts.ignore_index,
                                 opts.label_smoothing);
  int64_t count = 0;
  for (int64_t r = 0; r < n; ++r) count += t.data<int64_t>()[r] != opts.ignore_index;

  Tensor out;
  if (opts.reduction == Reduction::kNone) {
    out = rows;
  } else {
    double s = 0;  // in row order: deterministic
    for (float l : rows.to_vector()) s += l;
    if (opts.reduction == Reduction::kMean) s = count > 0 ? s / static_cast<double>(count) : 0.0;
    out = Tensor::full({}, s);
  }

  if (autograd::needs_grad({&logits})) {
    autograd::record("cross_entropy", {logits}, {&out},
                     [x = x.detach(), t, opts, count, n, v](const std::vector<Tensor>& g, const std::vector<bool>&) {
                       Tensor d = Tensor::empty({n, v});
                       const Tensor go = g[0].contiguous();
                       if (opts.reduction == Reduction::kNone) {
                         // Per-row scale: run the kernel with scale 1, then scale each row.
                         kernels::cross_entropy_backward(x.data<float>(), t.data<int64_t>(), d.data<float>(), n, v,
                                                         opts.ignore_index, opts.label_smoothing, 1.0f);
                         float* dp = d.data<float>();
                         const float* gp = go.data<float>();
                         for (int64_t r = 0; r < n; ++r)
                           for (int64_t j = 0; j < v; ++j) dp[r * v + j] *= gp[r];
                       } else {
                         const double denom = opts.reduction == Reduction::kMean ? std::max<int64_t>(count, 1) : 1;
                         kernels::cross_entropy_backward(x.data<float>(), t.data<int64_t>(), d.data<float>(), n, v,
                                                         opts.ignore_index, opts.label_smoothing,
                                                         static_cast<float>(go.item() / denom));
                       }
                       return std::vector<Tensor>{d};
                     });
  }
  return out;
}

}  // namespace attn
