// kernels/gemm_bf16.cpp — bf16 × bf16 -> f32 GEMM (see gemm.h), for mixed-precision training.
//
// With oneDNN: its matmul primitive with bf16 sources and an f32 destination (AMX or AVX512-BF16
// where the CPU has them; kernels/onednn_matmul.h). Without oneDNN: convert both operands to f32 and
// call sgemm.
#include <attn/profile.h>

#include <vector>

#include "kernels/convert.h"
#include "kernels/gemm.h"
#include "kernels/onednn_matmul.h"

namespace attn::kernels {
namespace {

// f32 copy of op(X) for the no-oneDNN path: the stored [rows, cols] matrix with row stride ld.
std::vector<float> widen(const uint16_t* x, int64_t rows, int64_t cols, int64_t ld) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) bf16_to_f32(x + r * ld, out.data() + r * cols, cols);
  return out;
}

void gemm_bf16_convert(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                       int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const auto a = ta ? widen(A, K, M, lda) : widen(A, M, K, lda);
  const auto b = tb ? widen(B, N, K, ldb) : widen(B, K, N, ldb);
  sgemm(ta, tb, M, N, K, alpha, a.data(), ta ? M : K, b.data(), tb ? K : N, beta, C, ldc);
}

}  // namespace

const char* gemm_bf16_path() {
#if defined(ATTN_HAVE_ONEDNN)
  return "onednn";
#else
  return "convert+sgemm";
#endif
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
               int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias) {
  if (M <= 0 || N <= 0) return;
  ProfileScope scope("gemm bf16");
#if defined(ATTN_HAVE_ONEDNN)
  // oneDNN 2.x's output scale would also scale the bias, so a fused bias needs alpha = 1.
  const float* fused = alpha == 1.0f ? bias : nullptr;
  if (K > 0 && onednn_matmul(MatmulSource::kBF16, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                             fused)) {
    if (bias && !fused) add_bias_rows(bias, M, N, C, ldc);
    return;
  }
#endif
  gemm_bf16_convert(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (bias) add_bias_rows(bias, M, N, C, ldc);
}

}  // namespace attn::kernels
