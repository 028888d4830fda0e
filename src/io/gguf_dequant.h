// io/gguf_dequant.h — GGML block formats and their dequantisers: a fast path (ggml_dequantize in
// attn/gguf.h) and a scalar reference twin, a literal transcription of ggml's dequantize_row_* done
// in float64 and rounded once, that the tests hold the fast path against.
//
// Block layouts (little-endian, fp16 scales):
//   Q8_0  32 el, 34 B: d, qs[32] int8                  y = d*q
//   Q4_0  32 el, 18 B: d, qs[16] nibbles               y[j] = d*(lo-8), y[j+16] = d*(hi-8)
//   Q4_1  32 el, 20 B: d, m, qs[16] nibbles            y[j] = d*lo + m, y[j+16] = d*hi + m
//   Q4_K 256 el, 144 B: d, dmin, scales[12] (8 x 6-bit scale + 6-bit min), qs[128] nibbles
//   Q6_K 256 el, 210 B: ql[128] low 4 bits, qh[64] high 2 bits, scales[16] int8, d
#pragma once

#include <attn/gguf.h>

#include <cstdint>

namespace attn::io_detail {

// The reference twin of ggml_dequantize: same contract, float64 arithmetic, one element at a time.
bool ggml_dequantize_ref(GgmlType t, const void* src, float* dst, int64_t n);

// Q4_K's packed 6-bit scale and min of sub-block j (0..7), as ggml's get_scale_min_k4.
inline void q4k_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace attn::io_detail
