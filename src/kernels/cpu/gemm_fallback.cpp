// kernels/cpu/gemm_fallback.cpp — the portable GEMM backend: used when neither oneDNN nor OpenBLAS is
// present, or when it measures faster than both (see kernels/gemm.h).
//
// Passes: (1) C = beta·C (beta == 0 writes zeros, never reading C); (2) for each KC×NC panel of
// op(B): pack it row-major into a contiguous buffer (this absorbs trans_b), then, threaded over
// blocks of kMr rows, run the micro-kernel: a kMr × (2 vectors) accumulator tile, each step
// broadcasting one element of op(A) per row and doing 2·kMr FMAs against two packed B vectors; add
// alpha·tile into C. Tails (rows % kMr, columns % 2 vectors) go through the same kernel with masked
// rows/columns. Roughly a third to half of the BLAS libraries' speed; correctness first.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/gemm_fallback.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/aligned_allocator.h>

#include <algorithm>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/parallel_items.h"

// One definition shared by every target (the dispatch table needs identical signatures).
#ifndef ATTN_KERNELS_GEMM_ARGS_DEFINED
#define ATTN_KERNELS_GEMM_ARGS_DEFINED
namespace attn::kernels {
struct GemmArgs {
  bool ta, tb;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
};

}  // namespace attn::kernels
#endif

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kMr = 4;     // rows per register tile
constexpr int64_t kKc = 256;   // K per packed panel
constexpr int64_t kNc = 1024;  // N per packed panel (panel = 1 MiB at most)

HWY_INLINE float a_at(const GemmArgs& g, int64_t i, int64_t k) { return g.ta ? g.A[k * g.lda + i] : g.A[i * g.lda + k]; }

// Packs op(B)[k0:k0+kc, j0:j0+nc] into bp, row stride ncp (>= nc, padded with zeros).
void PackB(const GemmArgs& g, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int64_t ncp, float* bp) {
  for (int64_t k = 0; k < kc; ++k) {
    float* row = bp + k * ncp;
    if (!g.tb) {
      std::copy(g.B + (k0 + k) * g.ldb + j0, g.B + (k0 + k) * g.ldb + j0 + nc, row);
    } else {
      for (int64_t j = 0; j < nc; ++j) row[j] = g.B[(j0 + j) * g.ldb + k0 + k];
    }
    std::fill(row + nc, row + ncp, 0.0f);
  }
}

// C[i0:i0+mr, j0:j0+cols] += alpha · op(A)[i0:i0+mr, k0:k0+kc] · bp[:, jp:jp+cols], cols <= 2N.
HWY_INLINE void MicroKernel(const GemmArgs& g, int64_t i0, int64_t mr, int64_t k0, int64_t kc, const float* bp,
                            int64_t ncp, int64_t jp, int64_t j0, int64_t cols) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF acc[kMr][2];
  for (auto& r : acc) r[0] = r[1] = hn::Zero(d);
  int64_t rows[kMr];
  for (int64_t r = 0; r < kMr; ++r) rows[r] = i0 + std::min(r, mr - 1);  // clamp: extra rows recompute the last
  for (int64_t k = 0; k < kc; ++k) {
    const VF b0 = hn::Load(d, bp + k * ncp + jp), b1 = hn::Load(d, bp + k * ncp + jp + N);
    for (int64_t r = 0; r < kMr; ++r) {
      const VF a = hn::Set(d, a_at(g, rows[r], k0 + k));
      acc[r][0] = hn::MulAdd(a, b0, acc[r][0]);
      acc[r][1] = hn::MulAdd(a, b1, acc[r][1]);
    }
  }
  const VF alpha = hn::Set(d, g.alpha);
  for (int64_t r = 0; r < mr; ++r) {
    float* c = g.C + (i0 + r) * g.ldc + j0;
    for (int64_t h = 0; h < 2; ++h) {
      const int64_t off = h * N, n = std::min(N, cols - off);
      if (n <= 0) break;
      if (n == N) {
        hn::StoreU(hn::MulAdd(alpha, acc[r][h], hn::LoadU(d, c + off)), d, c + off);
      } else {
        StoreTail(hn::MulAdd(alpha, acc[r][h], LoadTail(d, c + off, n)), d, c + off, n);
      }
    }
  }
}

void ScaleC(const GemmArgs& g, float beta, int threads) {
  if (beta == 1.0f) return;
  parallel_items(
      g.M, g.M * g.N >= 65536,
      [&](int64_t i) {
        float* c = g.C + i * g.ldc;
        if (beta == 0.0f)
          std::fill(c, c + g.N, 0.0f);
        else
          for (int64_t j = 0; j < g.N; ++j) c[j] *= beta;
      },
      threads);
}

void SgemmFallbackImpl(const GemmArgs& g, float beta, int threads) {
  ScaleC(g, beta, threads);
  if (g.K == 0 || g.alpha == 0.0f) return;
  const DF d;
  const int64_t V2 = 2 * static_cast<int64_t>(hn::Lanes(d));
  auto panel = hwy::AllocateAligned<float>(static_cast<size_t>(kKc * (kNc + V2)));
  const int64_t row_blocks = (g.M + kMr - 1) / kMr;
  for (int64_t j0 = 0; j0 < g.N; j0 += kNc) {
    const int64_t nc = std::min(kNc, g.N - j0), ncp = (nc + V2 - 1) / V2 * V2;
    for (int64_t k0 = 0; k0 < g.K; k0 += kKc) {
      const int64_t kc = std::min(kKc, g.K - k0);
      PackB(g, k0, kc, j0, nc, ncp, panel.get());
      const float* bp = panel.get();
      parallel_items(
          row_blocks, g.M * nc * kc >= 1 << 18,
          [&](int64_t rb) {
            const int64_t i0 = rb * kMr, mr = std::min(kMr, g.M - i0);
            for (int64_t jp = 0; jp < nc; jp += V2)
              MicroKernel(g, i0, mr, k0, kc, bp, ncp, jp, j0 + jp, std::min(V2, nc - jp));
          },
          threads);
    }
  }
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(SgemmFallbackImpl);

void sgemm_fallback(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads) {
  if (M <= 0 || N <= 0) return;
  select_cpu_target();
  const GemmArgs g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc};
  HWY_DYNAMIC_DISPATCH(SgemmFallbackImpl)(g, beta, std::max(threads, 1));
}
}  // namespace attn::kernels
#endif
