// kernels/gemm.h — row-major GEMM over raw pointers, on the fastest BLAS this machine has.
//
//   // C[M,N] = alpha · op(A)·op(B) + beta · C, row-major, op = transpose when trans_* is set
//   attn::kernels::sgemm(false, true, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);   // c = a·bᵀ
//   attn::kernels::gemm_backend_name(attn::kernels::gemm_backend());          // "onednn"
//
// Backends: oneDNN's dnnl_sgemm, OpenBLAS's cblas_sgemm, and a portable blocked fallback (always
// present). The backend is chosen once, at first use: ATTN_GEMM=onednn|openblas|fallback forces one;
// otherwise a short measurement (a few ms) of each compiled backend on this CPU with the current
// thread count picks the fastest — Debian 12's OpenBLAS 0.3.21 falls back to a slow generic kernel on
// CPUs it does not recognise, and OPENBLAS_CORETYPE is only read when the library loads, so measuring
// is the only reliable test. gemm_backend_reason() says which numbers decided it.
//
// Shapes: op(A) is [M,K], op(B) is [K,N], C is [M,N]; lda/ldb/ldc are row strides in elements of the
// matrices as stored (A stored [M,K] or, with trans_a, [K,M]). beta == 0 ignores C's old contents
// (NaN in C does not propagate). Threads: attn::num_threads(); called from inside an OpenMP parallel
// region it runs on the calling thread only (OpenBLAS is then replaced by the fallback kernel, since
// its thread pool is process-wide). Kernels never throw: sizes are the caller's (ops') problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attn::kernels {

enum class GemmBackend { kOneDnn, kOpenBlas, kFallback };

// bias: [N] added to every row of C (or null). With oneDNN it goes through oneDNN's matmul primitive,
// the bias fused into the product's epilogue (when alpha is 1; no separate pass over C) — which is
// also faster than dnnl_sgemm for linear layers' x·wᵀ with K > N (fc2: 178 -> 225 GFLOP/s, bench_gemm).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
           const float* bias = nullptr);

// `batch` independent GEMMs; matrix i is at A + i·stride_a, B + i·stride_b, C + i·stride_c (a stride
// of 0 broadcasts that operand).
void sgemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                   int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch);

// bf16 inputs (uint16_t bit patterns), f32 accumulation and output: C = alpha·op(A)·op(B) + beta·C.
// oneDNN (dnnl_gemm_bf16bf16f32: AMX / AVX512-BF16 where present) or, without it, a conversion to f32
// plus sgemm. For training's mixed precision.
// bias: [N] f32 added to every row of C (or null) — fused into oneDNN's matmul when alpha is 1.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const uint16_t* A, int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C,
               int64_t ldc, const float* bias = nullptr);

// The backend sgemm uses (choosing it on the first call).
GemmBackend gemm_backend();
// "onednn" / "openblas" / "fallback"
const char* gemm_backend_name(GemmBackend b);
// Parses a name as above; returns false for an unknown one.
bool parse_gemm_backend(const std::string& name, GemmBackend* out);
// Backends compiled into this build, fallback last.
std::vector<GemmBackend> available_gemm_backends();
// One line: how the backend was chosen, with the measured GFLOP/s.
std::string gemm_backend_reason();
// Overrides the choice (tests, doctor, benchmarks). Process-wide.
void set_gemm_backend(GemmBackend b);
// Which bf16 path gemm_bf16 takes: "onednn" or "convert+sgemm".
const char* gemm_bf16_path();

// sgemm on an explicit backend (tests, doctor, bench); same contract as sgemm.
void sgemm_on(GemmBackend b, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// GFLOP/s (2·M·N·K / s) of a plain row-major [M,K]·[K,N] GEMM on backend `b` with the current
// thread count: one warm-up, then repeated runs for at least `min_seconds`; the best run counts
// (the peak the benchmarks compare against). For doctor and bench, not for the hot path.
double measure_sgemm_gflops(GemmBackend b, int64_t M, int64_t N, int64_t K, double min_seconds = 0.2);
double measure_gemm_bf16_gflops(int64_t M, int64_t N, int64_t K, double min_seconds = 0.2);

// The portable backend: a blocked Highway kernel (B packed per KC×NC panel, 4-row × 2-vector
// register tile), threaded over row blocks with `threads` OpenMP threads.
void sgemm_fallback(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads);

namespace ref {
// Float64-accumulating triple loop: the test oracle.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
}  // namespace ref

}  // namespace attn::kernels
