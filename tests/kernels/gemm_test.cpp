// tests/kernels/gemm_test.cpp — every GEMM backend against the float64 reference: all transposes,
// odd sizes, padded leading dimensions, alpha/beta, beta == 0 ignoring NaN in C, batched with
// broadcast operands, and the bf16 path. The fallback runs on every SIMD target.
#include <attn/dtype.h>
#include <fmt/format.h>
#include <attn/threads.h>

#include <limits>

#include "kernels/convert.h"
#include "kernels/gemm.h"
#include "kernels/kernel_test_util.h"

namespace attn::kernels {
namespace {
using test::all_close;
using test::for_each_target;
using test::random_floats;

struct GemmCase {
  int64_t M, N, K;
  int64_t pad;  // extra elements per stored row (lda/ldb/ldc beyond the minimum)
  float alpha, beta;
};
const GemmCase kCases[] = {
    {1, 1, 1, 0, 1.0f, 0.0f},     {7, 13, 5, 0, 1.0f, 0.0f},      {129, 65, 33, 3, 1.0f, 0.5f},
    {64, 64, 64, 0, -0.5f, 1.0f}, {33, 300, 257, 1, 1.0f, 0.0f},  {200, 17, 300, 5, 2.0f, -1.0f},
    {1, 1000, 129, 0, 1.0f, 0.0f}, {1000, 1, 7, 2, 1.0f, 0.25f},
};

// Runs fn(ta, tb, case, A, lda, B, ldb, C, ldc) and compares with the reference on the same C.
void check_case(const GemmCase& c, bool ta, bool tb,
                const std::function<void(const float*, int64_t, const float*, int64_t, float*, int64_t)>& fn) {
  const int64_t a_rows = ta ? c.K : c.M, a_cols = ta ? c.M : c.K;
  const int64_t b_rows = tb ? c.N : c.K, b_cols = tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  const auto A = random_floats(a_rows * lda, -1, 1, 1), B = random_floats(b_rows * ldb, -1, 1, 2);
  auto C = random_floats(c.M * ldc, -1, 1, 3);
  if (c.beta == 0.0f) C[0] = std::numeric_limits<float>::quiet_NaN();  // must not leak through beta = 0
  auto want = C;
  ref::sgemm(ta, tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, want.data(), ldc);
  fn(A.data(), lda, B.data(), ldb, C.data(), ldc);
  SCOPED_TRACE(fmt::format("M={} N={} K={} ta={} tb={} alpha={} beta={}", c.M, c.N, c.K, ta, tb, c.alpha, c.beta));
  EXPECT_TRUE(all_close(C, want, 4e-7 * c.K + 1e-6, 1e-5));
}

TEST(Gemm, EveryBackendMatchesReference) {
  for (GemmBackend b : available_gemm_backends()) {
    SCOPED_TRACE(gemm_backend_name(b));
    for (const auto& c : kCases)
      for (bool ta : {false, true})
        for (bool tb : {false, true})
          check_case(c, ta, tb, [&](const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
            sgemm_on(b, ta, tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc);
          });
  }
}

// sgemm with a bias row: fused into oneDNN's matmul primitive (alpha 1) or added after the GEMM.
// check_case compares with the reference without the bias, so the bias is taken off again (exact
// up to one rounding, far inside the tolerance).
TEST(Gemm, BiasRowOnEveryBackend) {
  const GemmBackend saved = gemm_backend();
  for (GemmBackend b : available_gemm_backends()) {
    SCOPED_TRACE(gemm_backend_name(b));
    set_gemm_backend(b);
    for (const auto& c : kCases)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          const auto bias = random_floats(c.N, -1, 1, 4);
          check_case(c, ta, tb, [&](const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
            sgemm(ta, tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc, bias.data());
            for (int64_t m = 0; m < c.M; ++m)
              for (int64_t n = 0; n < c.N; ++n) C[m * ldc + n] -= bias[n];
          });
        }
    // A linear's forward at fc1-like sizes (oneDNN: the GEMM, then the bias in a pass of its own).
    for (const GemmCase& c : {GemmCase{1030, 1040, 96, 1, 1.0f, 0.0f}, GemmCase{1024, 1024, 512, 0, 1.0f, 0.0f}}) {
      const auto bias = random_floats(c.N, -1, 1, 5);
      check_case(c, false, true, [&](const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
        sgemm(false, true, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc, bias.data());
        for (int64_t m = 0; m < c.M; ++m)
          for (int64_t n = 0; n < c.N; ++n) C[m * ldc + n] -= bias[n];
      });
    }
  }
  set_gemm_backend(saved);
}

// The fused-bias products give the same bits on 1 and 2 threads (the trainer's thread-count
// invariance rests on it): fc2's shape, a single row (generation), a tall-skinny one, a long K, and
// fc1's in a 6/6/384 step (GEMM, then the bias).
TEST(Gemm, BiasProductSameBitsOnOneAndTwoThreads) {
  const int saved = num_threads();
  struct Shape {
    int64_t M, N, K;
  };
  for (const Shape& s : {Shape{256, 384, 1536}, Shape{1, 384, 1536}, Shape{7, 65, 384}, Shape{64, 32, 8192},
                         Shape{2048, 1536, 384}}) {
    const auto A = random_floats(s.M * s.K, -1, 1, 1), B = random_floats(s.N * s.K, -1, 1, 2);
    const auto bias = random_floats(s.N, -1, 1, 3);
    std::vector<float> one(s.M * s.N), two(s.M * s.N);
    set_num_threads(1);
    sgemm(false, true, s.M, s.N, s.K, 1.0f, A.data(), s.K, B.data(), s.K, 0.0f, one.data(), s.N, bias.data());
    set_num_threads(2);
    sgemm(false, true, s.M, s.N, s.K, 1.0f, A.data(), s.K, B.data(), s.K, 0.0f, two.data(), s.N, bias.data());
    EXPECT_EQ(one, two) << s.M << "x" << s.N << "x" << s.K;
  }
  set_num_threads(saved);
}

TEST(Gemm, FallbackOnEveryTargetAndThreadCount) {
  const int saved = num_threads();
  for_each_target([] {
    for (int threads : {1, 2}) {
      for (const auto& c : kCases)
        for (bool ta : {false, true})
          for (bool tb : {false, true})
            check_case(c, ta, tb, [&](const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
              sgemm_fallback(ta, tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc, threads);
            });
    }
  });
  set_num_threads(saved);
}

TEST(Gemm, ZeroSizes) {
  for (GemmBackend b : available_gemm_backends()) {
    std::vector<float> C = {1, 2, 3, 4};
    sgemm_on(b, false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2);  // K = 0: C = beta·C
    EXPECT_EQ(C, (std::vector<float>{0.5f, 1, 1.5f, 2})) << gemm_backend_name(b);
    sgemm_on(b, false, false, 0, 2, 3, 1.0f, nullptr, 3, nullptr, 2, 0.0f, C.data(), 2);  // M = 0: no-op
    EXPECT_EQ(C[0], 0.5f);
  }
}

TEST(Gemm, BatchedWithBroadcastB) {
  const int saved = num_threads();
  for (GemmBackend b : available_gemm_backends()) {
    set_gemm_backend(b);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      for (int64_t batch : {1, 3, 12}) {
        const int64_t M = 17, N = 33, K = 64;  // small: the per-item threaded path when batch >= threads
        const auto A = random_floats(batch * M * K, -1, 1, 4), B = random_floats(K * N, -1, 1, 5);
        std::vector<float> C(batch * M * N, 0.0f), want(batch * M * N, 0.0f);
        sgemm_batched(false, true, M, N, K, 1.0f, A.data(), K, M * K, B.data(), K, 0, 0.0f, C.data(), N, M * N, batch);
        for (int64_t i = 0; i < batch; ++i)
          ref::sgemm(false, true, M, N, K, 1.0f, A.data() + i * M * K, K, B.data(), K, 0.0f, want.data() + i * M * N, N);
        EXPECT_TRUE(all_close(C, want, 1e-5, 1e-5)) << gemm_backend_name(b) << " batch " << batch;
      }
    }
  }
  set_num_threads(saved);
}

// Each thread of a parallel region runs its own GEMM (as a tiled kernel would): every backend must
// stay correct and run on the calling thread only.
TEST(Gemm, InsideParallelRegion) {
  const int64_t M = 33, N = 17, K = 65, items = 4;
  const auto A = random_floats(items * M * K, -1, 1, 9), B = random_floats(K * N, -1, 1, 10);
  for (GemmBackend b : available_gemm_backends()) {
    std::vector<float> C(items * M * N, 0.0f), want(items * M * N, 0.0f);
#pragma omp parallel for num_threads(2)
    for (int64_t i = 0; i < items; ++i)
      sgemm_on(b, false, false, M, N, K, 1.0f, A.data() + i * M * K, K, B.data(), N, 0.0f, C.data() + i * M * N, N);
    for (int64_t i = 0; i < items; ++i)
      ref::sgemm(false, false, M, N, K, 1.0f, A.data() + i * M * K, K, B.data(), N, 0.0f, want.data() + i * M * N, N);
    EXPECT_TRUE(all_close(C, want, 1e-5, 1e-5)) << gemm_backend_name(b);
  }
}

TEST(Gemm, ChoiceIsReportedAndOverridable) {
  const std::string reason = gemm_backend_reason();
  EXPECT_FALSE(reason.empty());
  GemmBackend parsed;
  EXPECT_TRUE(parse_gemm_backend("openblas", &parsed));
  EXPECT_EQ(parsed, GemmBackend::kOpenBlas);
  EXPECT_FALSE(parse_gemm_backend("mkl", &parsed));
  set_gemm_backend(GemmBackend::kFallback);
  EXPECT_EQ(gemm_backend(), GemmBackend::kFallback);
}

TEST(GemmBf16, MatchesReferenceOnRoundedInputs) {
  for (const auto& c : kCases) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const int64_t a_n = c.M * c.K, b_n = c.K * c.N;
        const auto Af = random_floats(a_n, -1, 1, 6), Bf = random_floats(b_n, -1, 1, 7);
        std::vector<uint16_t> A(a_n), B(b_n);
        f32_to_bf16(Af.data(), A.data(), a_n);
        f32_to_bf16(Bf.data(), B.data(), b_n);
        std::vector<float> Ar(a_n), Br(b_n);  // the bf16 values, exactly, as f32
        bf16_to_f32(A.data(), Ar.data(), a_n);
        bf16_to_f32(B.data(), Br.data(), b_n);
        const int64_t lda = ta ? c.M : c.K, ldb = tb ? c.K : c.N;
        auto C = random_floats(c.M * c.N, -1, 1, 8);
        auto want = C;
        ref::sgemm(ta, tb, c.M, c.N, c.K, c.alpha, Ar.data(), lda, Br.data(), ldb, c.beta, want.data(), c.N);
        gemm_bf16(ta, tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), c.N);
        EXPECT_TRUE(all_close(C, want, 4e-7 * c.K + 1e-6, 1e-5))
            << fmt::format("bf16 ({}) M={} N={} K={} ta={} tb={}", gemm_bf16_path(), c.M, c.N, c.K, ta, tb);
        // With a bias row: fused into oneDNN's matmul when alpha is 1, added afterwards otherwise.
        const auto bias = random_floats(c.N, -1, 1, 9);
        for (int64_t m = 0; m < c.M; ++m)
          for (int64_t n = 0; n < c.N; ++n) want[m * c.N + n] += bias[n];
        C = random_floats(c.M * c.N, -1, 1, 8);
        gemm_bf16(ta, tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), c.N, bias.data());
        EXPECT_TRUE(all_close(C, want, 4e-7 * c.K + 1e-6, 1e-5))
            << fmt::format("bf16 + bias ({}) M={} N={} K={} ta={} tb={} alpha={}", gemm_bf16_path(), c.M, c.N, c.K, ta,
                           tb, c.alpha);
      }
    }
  }
}

}  // namespace
}  // namespace attn::kernels
