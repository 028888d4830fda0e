// ops/dropout.cpp — inverted dropout (attn/ops.h): the element work is kernels::dropout_apply (SIMD
// Philox, kernels/dropout.h); the backward replays the same draws, so no mask is stored.
#include <attn/autograd.h>
#include <attn/ops.h>

#include "kernels/dropout.h"

namespace attn {

namespace {
// y = x·mask/(1-p) with the draws of counters [first, first + dropout_blocks(n)): the forward and the
// backward (dx = g·mask/(1-p)) draw the same numbers, so no mask is stored.
Tensor apply_dropout(const Tensor& x, float p, uint64_t seed, uint64_t first) {
  const Tensor src = x.contiguous();
  Tensor out = Tensor::empty(x.shape());
  kernels::dropout_apply(src.data<float>(), out.data<float>(), x.numel(), p, seed, first);
  return out;
}
}  // namespace

Tensor dropout(const Tensor& x, float p, Rng& rng) {
  ATTN_CHECK(p >= 0.0f && p < 1.0f, ValueError, "dropout: p must be in [0, 1), got {}", p);
  ATTN_CHECK(x.dtype() == DType::kF32, ShapeError, "dropout: x must be f32, got {}", x.str());
  if (p == 0.0f) return x;
  const uint64_t seed = rng.state().seed, first = rng.reserve(kernels::dropout_blocks(x.numel()));
  Tensor y = apply_dropout(x, p, seed, first);
  if (!autograd::needs_grad({&x})) return y;
  autograd::record("dropout", {x}, {&y},
                   [p, seed, first](const std::vector<Tensor>& g, const std::vector<bool>&) {
                     return std::vector<Tensor>{apply_dropout(g[0], p, seed, first)};
                   });
  return y;
}

}  // namespace attn
