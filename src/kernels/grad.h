// kernels/grad.h — backward kernels of the element-wise, norm, lookup and max ops (raw pointers).
// Checked against finite differences by the gradient table (tests/autograd) and, for the SIMD ones,
// against the float64 twins in ref:: on every target (tests/kernels/grad_kernels_test.cpp). Reductions over rows
// (norm weight/bias gradients) use fixed row chunks combined in order: thread-count independent.
#pragma once

#include <cstdint>

#include "kernels/elementwise.h"

namespace attn::kernels {

// dx = g · f'(x) for the unary ops; x, y = f(x), g, dx: [n]. Only the input the derivative uses is
// read (y for exp, tanh, sqrt, rsqrt, sigmoid; x for the others; neither for neg); the other may be
// null. relu' and abs' are 0 at 0 (and at NaN); GELU' and SiLU' are NaN at ±inf, as torch. SIMD.
void unary_backward(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n);
// unary_backward over [rows, cols] (dx may be g: in place) and colsum[c] = Σ_r dx[r, c] in the same
// pass, with the bits of reduce_axis(kSum) over the rows of dx (the same chunks and order).
void unary_backward_colsum(UnaryOp op, const float* x, const float* y, const float* g, float* dx, float* colsum,
                           int64_t rows, int64_t cols);

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

// Scalar float64 twins (the test oracle): derivatives, row sums and dw/db sums in double.
namespace ref {
// f'(x) in double; y = f(x) as given (only read by the ops that use it, as unary_backward).
double unary_derivative(UnaryOp op, double x, double y);
void unary_backward(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n);
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dw, float* db, int64_t rows, int64_t C);
void rms_norm_backward(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows, int64_t C,
                       float eps);
}  // namespace ref

}  // namespace attn::kernels
