// io/gguf_dequant_ref.cpp — the scalar reference twin of the GGML dequantisers: one element at a
// time, index arithmetic spelled out as in ggml-quants.c, products in float64, one rounding to f32.
#include <attn/dtype.h>

#include <cstring>

#include "io/gguf_dequant.h"
#include "io/io_util.h"

namespace attn::io_detail {
namespace {

double h(const uint8_t* p) { return f16_to_f32(load_le<uint16_t>(p)); }

void ref_q8_0(const uint8_t* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, b += 34)
    for (int j = 0; j < 32; ++j) y[i * 32 + j] = static_cast<float>(h(b) * static_cast<int8_t>(b[2 + j]));
}

void ref_q4_0(const uint8_t* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, b += 18)
    for (int j = 0; j < 16; ++j) {
      y[i * 32 + j] = static_cast<float>(h(b) * ((b[2 + j] & 0xF) - 8));
      y[i * 32 + j + 16] = static_cast<float>(h(b) * ((b[2 + j] >> 4) - 8));
    }
}

void ref_q4_1(const uint8_t* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, b += 20)
    for (int j = 0; j < 16; ++j) {
      y[i * 32 + j] = static_cast<float>(h(b) * (b[4 + j] & 0xF) + h(b + 2));
      y[i * 32 + j + 16] = static_cast<float>(h(b) * (b[4 + j] >> 4) + h(b + 2));
    }
}

// Element e of a Q4_K block: sub-block e/32 (scale/min pair), byte (e/64)*32 + e%32, nibble (e/32)%2.
void ref_q4_k(const uint8_t* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, b += 144)
    for (int e = 0; e < 256; ++e) {
      uint8_t sc, m;
      q4k_scale_min(e / 32, b + 4, &sc, &m);
      const uint8_t byte = b[16 + (e / 64) * 32 + e % 32];
      const int q = (e / 32) % 2 ? byte >> 4 : byte & 0xF;
      y[i * 256 + e] = static_cast<float>(h(b) * sc * q - h(b + 2) * m);
    }
}

// Element e of a Q6_K block: half n = e/128, quarter r = (e%128)/32, lane l = e%32; low bits from
// ql[64n + l + 32(r%2)] (nibble r/2), high bits from qh[32n + l] >> 2r, scale sc[8n + l/16 + 2r].
void ref_q6_k(const uint8_t* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, b += 210)
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, r = (e % 128) / 32, l = e % 32;
      const uint8_t lo = b[64 * n + l + 32 * (r % 2)];
      const int low = r / 2 ? lo >> 4 : lo & 0xF;
      const int high = (b[128 + 32 * n + l] >> (2 * r)) & 3;
      const int q = (low | (high << 4)) - 32;
      const int sc = static_cast<int8_t>(b[192 + 8 * n + l / 16 + 2 * r]);
      y[i * 256 + e] = static_cast<float>(h(b + 208) * sc * q);
    }
}

}  // namespace

bool ggml_dequantize_ref(GgmlType t, const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  switch (t) {
    case GgmlType::kF32:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_le<float>(b + 4 * i);
      return true;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_le<uint16_t>(b + 2 * i));
      return true;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_le<uint16_t>(b + 2 * i));
      return true;
    case GgmlType::kQ8_0: ref_q8_0(b, dst, n / 32); return true;
    case GgmlType::kQ4_0: ref_q4_0(b, dst, n / 32); return true;
    case GgmlType::kQ4_1: ref_q4_1(b, dst, n / 32); return true;
    case GgmlType::kQ4_K: ref_q4_k(b, dst, n / 256); return true;
    case GgmlType::kQ6_K: ref_q6_k(b, dst, n / 256); return true;
    default: return false;
  }
}

}  // namespace attn::io_detail
