// kernels/cross_entropy.h — fused, numerically stable cross-entropy from logits.
//
// logits: [N,V] contiguous f32; targets: [N] i64; rows whose target == ignore_index are skipped.
// Per row, with logp = log_softmax(logits) and ε = label_smoothing:
//   loss = -(1-ε)·logp[t] - ε·mean_j(logp[j])            (torch.nn.functional.cross_entropy)
// Backward: dlogits = (softmax - (1-ε)·onehot(t) - ε/V) · scale   (ignored rows: 0)
// Never materialises [N,V] beyond a small per-chunk buffer in the forward.
#pragma once

#include <cstdint>

namespace attn::kernels {

// row_loss: [N] (0 for ignored rows). Returns nothing; the op reduces.
void cross_entropy_forward(const float* logits, const int64_t* targets, float* row_loss, int64_t n, int64_t v,
                           int64_t ignore_index, float label_smoothing);
// dlogits: [N,V]; scale multiplies every row (e.g. grad_out / count for the mean).
void cross_entropy_backward(const float* logits, const int64_t* targets, float* dlogits, int64_t n, int64_t v,
                            int64_t ignore_index, float label_smoothing, float scale);

namespace ref {
void cross_entropy_forward(const float* logits, const int64_t* targets, float* row_loss, int64_t n, int64_t v,
                           int64_t ignore_index, float label_smoothing);
void cross_entropy_backward(const float* logits, const int64_t* targets, float* dlogits, int64_t n, int64_t v,
                            int64_t ignore_index, float label_smoothing, float scale);
}  // namespace ref

}  // namespace attn::kernels
