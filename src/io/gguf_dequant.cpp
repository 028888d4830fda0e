// io/gguf_dequant.cpp — fast GGML dequantisers: one block at a time, scales hoisted out of
// fixed-length inner loops that the compiler vectorises; f32 arithmetic in ggml's order. Every
// product here is exact in f32 (f16 scale x small integers), so results equal the float64
// reference twin (gguf_dequant_ref.cpp) bit for bit; the tests check that. Large tensors are split
// over threads by blocks.
#include <attn/dtype.h>
#include <attn/threads.h>

#include "io/gguf_dequant.h"
#include "io/io_util.h"

namespace attn {
namespace {

using io_detail::load_le;

inline float h(const uint8_t* p) { return f16_to_f32(load_le<uint16_t>(p)); }

void q8_0_block(const uint8_t* b, float* y) {
  const float d = h(b);
  const auto* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q[j]);
}

void q4_0_block(const uint8_t* b, float* y) {
  const float d = h(b);
  const uint8_t* q = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((q[j] & 0xF) - 8);
    y[j + 16] = d * static_cast<float>((q[j] >> 4) - 8);
  }
}

void q4_1_block(const uint8_t* b, float* y) {
  const float d = h(b), m = h(b + 2);
  const uint8_t* q = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(q[j] & 0xF) + m;
    y[j + 16] = d * static_cast<float>(q[j] >> 4) + m;
  }
}

void q4_k_block(const uint8_t* b, float* y) {
  const float d = h(b), dmin = h(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0; j < 4; ++j, q += 32, y += 64) {  // 4 x 64 elements: low nibbles, then high
    uint8_t sc, m;
    io_detail::q4k_scale_min(2 * j, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    io_detail::q4k_scale_min(2 * j + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) y[l + 32] = d2 * static_cast<float>(q[l] >> 4) - m2;
  }
}

void q6_k_block(const uint8_t* b, float* y) {
  const float d = h(b + 208);
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  for (int n = 0; n < 2; ++n, ql += 64, qh += 32, sc += 8, y += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is] * static_cast<float>(q1);
      y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
      y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
      y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
    }
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

void run_blocks(BlockFn fn, const uint8_t* src, float* dst, int64_t nb, int64_t bytes, int64_t elems) {
  parallel_for(nb, 4096, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; ++i) fn(src + i * bytes, dst + i * elems);
  });
}

}  // namespace

bool ggml_dequantize(GgmlType t, const void* src_v, float* dst, int64_t n) {
  const auto* src = static_cast<const uint8_t*>(src_v);
  switch (t) {
    case GgmlType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return true;
    case GgmlType::kF16:
      parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) dst[i] = f16_to_f32(load_le<uint16_t>(src + 2 * i));
      });
      return true;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_le<uint16_t>(src + 2 * i));
      return true;
    case GgmlType::kQ8_0: run_blocks(q8_0_block, src, dst, n / 32, 34, 32); return true;
    case GgmlType::kQ4_0: run_blocks(q4_0_block, src, dst, n / 32, 18, 32); return true;
    case GgmlType::kQ4_1: run_blocks(q4_1_block, src, dst, n / 32, 20, 32); return true;
    case GgmlType::kQ4_K: run_blocks(q4_k_block, src, dst, n / 256, 144, 256); return true;
    case GgmlType::kQ6_K: run_blocks(q6_k_block, src, dst, n / 256, 210, 256); return true;
    default: return false;
  }
}

}  // namespace attn
