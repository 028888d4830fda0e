// nn/small_ops.cpp — element-level helpers that attn/ops.h does not have (yet): dropout and the
// key-lengths mask. They live here, as ops (Tensor in, fresh Tensor out), so that no module loops
// over elements; dropout's element work is kernels::dropout_apply (SIMD Philox, kernels/dropout.h).
#include <attn/autograd.h>
#include <attn/nn/attention.h>
#include <attn/nn/layers.h>
#include <attn/ops.h>
#include <attn/threads.h>

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
