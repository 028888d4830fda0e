// kernels/onednn_matmul.h — internal: oneDNN's matmul primitive behind sgemm's and gemm_bf16's
// bias paths (not part of the kernel API; include only from kernels/*.cpp).
//
//   if (!onednn_matmul(MatmulSource::kF32, false, true, M, N, K, 1.0f, x, K, w, K, 0.0f, y, N, bias))
//     ...  // not available or not supported: the caller takes its own path
//
// C[M,N] = alpha · op(A)·op(B) + beta · C (+ bias[N] on every row), row-major; transposes are
// expressed as strides, so nothing is copied. Primitives are cached per (type, shape, strides, alpha,
// beta-is-zero, bias) — creating one costs far more than a small matmul. Threads: OpenMP's
// omp_get_max_threads(); inside a parallel region oneDNN runs on the calling thread. oneDNN 2.x's
// output scale would also scale the bias, so callers fuse a bias only with alpha = 1.
#pragma once

#include <cstdint>

namespace attn::kernels {

enum class MatmulSource { kF32, kBF16 };  // A and B's element type; C and bias are f32

// Returns false when oneDNN is not compiled in or rejects the problem (nothing written then).
bool onednn_matmul(MatmulSource src, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const void* A, int64_t lda, const void* B, int64_t ldb, float beta, float* C, int64_t ldc,
                   const float* bias);

// C[m, :] += bias for every row m < M (threaded over rows): the bias for paths that cannot fuse it.
void add_bias_rows(const float* bias, int64_t M, int64_t N, float* C, int64_t ldc);

}  // namespace attn::kernels
