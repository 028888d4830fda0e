// kernels/onednn_matmul.cpp — the cached oneDNN matmul primitive (see onednn_matmul.h).
#include "kernels/onednn_matmul.h"

#include <attn/threads.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

#if defined(ATTN_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace attn::kernels {

void add_bias_rows(const float* bias, int64_t M, int64_t N, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  parallel_for(M, std::max<int64_t>(1, 16384 / N), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t n = 0; n < N; ++n) C[r * ldc + n] += bias[n];
  });
}

#if defined(ATTN_HAVE_ONEDNN)
namespace {

using Key = std::tuple<MatmulSource, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float, float,
                       bool>;

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
  const auto [src, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, has_bias] = key;
  const dt in = src == MatmulSource::kBF16 ? dt::bf16 : dt::f32;
  const dnnl::memory::desc a_md({M, K}, in, ta ? dnnl::memory::dims{1, lda} : dnnl::memory::dims{lda, 1});
  const dnnl::memory::desc b_md({K, N}, in, tb ? dnnl::memory::dims{1, ldb} : dnnl::memory::dims{ldb, 1});
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

}  // namespace

bool onednn_matmul(MatmulSource src, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const void* A,
                   int64_t lda, const void* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias) {
  try {
    Onednn& o = onednn();
    const Key key{src, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, bias != nullptr};
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
    dnnl::memory a(e.a_md, o.engine, const_cast<void*>(A));
    dnnl::memory b(e.b_md, o.engine, const_cast<void*>(B));
    dnnl::memory c(e.c_md, o.engine, C);
    dnnl::stream s(o.engine);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(e.bias_md, o.engine, const_cast<float*>(bias)));
    e.prim.execute(s, args);
    s.wait();
    return true;
  } catch (const dnnl::error&) {
    return false;  // unsupported here: the caller takes its own path
  }
}
#else
bool onednn_matmul(MatmulSource, bool, bool, int64_t, int64_t, int64_t, float, const void*, int64_t, const void*,
                   int64_t, float, float*, int64_t, const float*) {
  return false;
}
#endif

}  // namespace attn::kernels
