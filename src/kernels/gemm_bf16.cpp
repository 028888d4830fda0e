// kernels/gemm_bf16.cpp — bf16 × bf16 -> f32 GEMM (see gemm.h), for mixed-precision training.
//
// With oneDNN: a matmul primitive with bf16 sources and an f32 destination (AMX or AVX512-BF16 where
// the CPU has them), alpha as an output scale and beta as a sum post-op; transposes are expressed
// as strides, so nothing is copied. Primitives are cached per (shape, strides, alpha, beta-is-zero)
// because creating one costs far more than a small matmul. Without oneDNN: convert both operands to
// f32 and call sgemm.
#include <attn/threads.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <mutex>
#include <tuple>
#include <vector>

#include "kernels/convert.h"
#include "kernels/gemm.h"

#if defined(ATTN_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>
#endif

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

// C[m, :] += bias for every row (threaded over rows).
void add_bias_rows(const float* bias, int64_t M, int64_t N, float* C, int64_t ldc) {
  parallel_for(M, std::max<int64_t>(1, 16384 / N), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t n = 0; n < N; ++n) C[r * ldc + n] += bias[n];
  });
}

#if defined(ATTN_HAVE_ONEDNN)
using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float, float, bool>;

struct Entry {
  dnnl::memory::desc a_md, b_md, c_md, bias_md;
  dnnl::matmul prim;
};
struct Onednn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::map<Key, Entry> cache;  // bounded below
};
Onednn& onednn() {
  static Onednn o;
  return o;
}

Entry make_matmul(const Key& key) {
  using dt = dnnl::memory::data_type;
  const auto [ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, has_bias] = key;
  const dnnl::memory::desc a_md({M, K}, dt::bf16, ta ? dnnl::memory::dims{1, lda} : dnnl::memory::dims{lda, 1});
  const dnnl::memory::desc b_md({K, N}, dt::bf16, tb ? dnnl::memory::dims{1, ldb} : dnnl::memory::dims{ldb, 1});
  const dnnl::memory::desc c_md({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops po;
    po.append_sum(beta);
    attr.set_post_ops(po);
  }
  const dnnl::memory::desc bias_md = has_bias ? dnnl::memory::desc({1, N}, dt::f32, dnnl::memory::dims{N, 1})
                                               : dnnl::memory::desc();
  const dnnl::matmul::desc desc = has_bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md)
                                           : dnnl::matmul::desc(a_md, b_md, c_md);
  return Entry{a_md, b_md, c_md, bias_md,
               dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, onednn().engine))};
}

bool gemm_bf16_onednn(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                      int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc,
                      const float* bias) {
  try {
    Onednn& o = onednn();
    const Key key{ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, bias != nullptr};
    Entry e;
    {
      std::lock_guard<std::mutex> lock(o.mutex);
      auto it = o.cache.find(key);
      if (it == o.cache.end()) {
        if (o.cache.size() >= 256) o.cache.clear();
        it = o.cache.emplace(key, make_matmul(key)).first;
      }
      e = it->second;
    }
    dnnl::memory a(e.a_md, o.engine, const_cast<uint16_t*>(A));
    dnnl::memory b(e.b_md, o.engine, const_cast<uint16_t*>(B));
    dnnl::memory c(e.c_md, o.engine, C);
    dnnl::stream s(o.engine);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(e.bias_md, o.engine, const_cast<float*>(bias)));
    e.prim.execute(s, args);
    s.wait();
    return true;
  } catch (const dnnl::error&) {
    return false;  // unsupported here: the caller converts and uses sgemm
  }
}
#endif

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
#if defined(ATTN_HAVE_ONEDNN)
  // oneDNN 2.x's output scale would also scale the bias, so a fused bias needs alpha = 1.
  const float* fused = alpha == 1.0f ? bias : nullptr;
  if (K > 0 && gemm_bf16_onednn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, fused)) {
    if (bias && !fused) add_bias_rows(bias, M, N, C, ldc);
    return;
  }
#endif
  gemm_bf16_convert(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (bias) add_bias_rows(bias, M, N, C, ldc);
}

}  // namespace attn::kernels
