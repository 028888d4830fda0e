// attn/loss.h — losses, differentiable (they record their backward when inputs require grad).
//
//   Tensor logits = model.forward(ids);                  // [B,T,V]
//   Tensor loss = cross_entropy(logits.view({-1, V}), targets.view({-1}),
//                               {.ignore_index = pad_id, .label_smoothing = 0.1f});
//   backward(loss);
#pragma once

#include <attn/tensor.h>

namespace attn {

enum class Reduction { kMean, kSum, kNone };

struct CrossEntropyOptions {
  int64_t ignore_index = -100;  // rows with this target add nothing and get zero gradient
  float label_smoothing = 0.0f;  // in [0, 1)
  Reduction reduction = Reduction::kMean;  // mean over the rows that are not ignored
};

// logits: [N,V] f32, targets: [N] i32/i64 in [0,V) (or ignore_index) -> [] for mean/sum, [N] for none.
// Fused and max-subtracted (logits of ±1e4 are fine), matching torch.nn.functional.cross_entropy;
// unlike torch, a mean over zero non-ignored rows is 0 (not NaN). A target outside [0,V) throws
// ShapeError naming the row, the target and V.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& opts = {});

}  // namespace attn
