// kernels/grad.h — backward kernels of the element-wise, norm, lookup and max ops (raw pointers).
// Checked against finite differences by the gradient table (tests/autograd). Reductions over rows
// (norm weight/bias gradients) use fixed row chunks combined in order: thread-count independent.
#pragma once

#include <cstdint>

#include "kernels/elementwise.h"

namespace attn::kernels {

// dx = g · f'(x) for the unary ops (y = f(x) is given for ops whose derivative uses it).
void unary_backward(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n);

// x, g: [rows, C]; mean, rstd: [rows]; w: [C] or null. -> dx [rows, C]; dw, db [C] (may be null).
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dw, float* db, int64_t rows, int64_t C);
// y = x · r · w with r = 1/sqrt(mean(x²) + eps). -> dx, dw (may be null).
void rms_norm_backward(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows, int64_t C,
                       float eps);

// dtable[V,C] = Σ over positions p with ids[p] == v of g[p,:]; positions in order (deterministic).
void embedding_backward(const int64_t* ids, int64_t n, const float* g, int64_t V, int64_t C, float* dtable);

// x viewed as [outer, R, inner]; the gradient g [outer, inner] goes to the first maximum along R.
void max_backward(const float* x, const float* g, float* dx, int64_t outer, int64_t R, int64_t inner);

}  // namespace attn::kernels
