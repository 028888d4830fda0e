// kernels/cpu/flash_transpose-inl.h — the 16×16 f32 transpose the f32 flash kernels pack their
// transposed tiles with (the forward's Qᵀ and out rows, the backward's Kᵀ and Vᵀ): element by element
// those packs stalled on every row's first load, most with the strided [B,H,T,D] views of [B,T,H·D]
// tensors a GPT step passes. AVX-512 targets only (ATTN_FLASH_TRANSPOSE16 says whether it exists);
// callers keep an element loop for the others. Included once per Highway target by those two files
// (the toggled include guard is Highway's -inl.h convention).

// Per-target include guard.
#if defined(ATTN_KERNELS_CPU_FLASH_TRANSPOSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTN_KERNELS_CPU_FLASH_TRANSPOSE_INL_H_
#undef ATTN_KERNELS_CPU_FLASH_TRANSPOSE_INL_H_
#else
#define ATTN_KERNELS_CPU_FLASH_TRANSPOSE_INL_H_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

#undef ATTN_FLASH_TRANSPOSE16
#if HWY_TARGET <= HWY_AVX3
#define ATTN_FLASH_TRANSPOSE16 1

// In place 16×16 transpose: r[i] lane c -> r[c] lane i. Unpacks gather column 4k+e of 4 rows into
// 128-bit block k; a 4×4 transpose of the blocks finishes (as the bf16 kernels' Transpose16).
HWY_INLINE void Transpose16(__m512 r[16]) {
  const auto lo64 = [](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
  };
  const auto hi64 = [](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
  };
  __m512 t[16], u[16];
  for (int m = 0; m < 8; ++m) {
    t[2 * m] = _mm512_unpacklo_ps(r[2 * m], r[2 * m + 1]);
    t[2 * m + 1] = _mm512_unpackhi_ps(r[2 * m], r[2 * m + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + e] block k = column 4k+e of rows 4g..4g+3
    u[4 * g] = lo64(t[4 * g], t[4 * g + 2]), u[4 * g + 1] = hi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = lo64(t[4 * g + 1], t[4 * g + 3]), u[4 * g + 3] = hi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int e = 0; e < 4; ++e) {  // r[4k + e] = blocks k of u[e], u[4+e], u[8+e], u[12+e]
    const __m512 x0 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x44), x1 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xEE);
    const __m512 y0 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x44);
    const __m512 y1 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xEE);
    r[e] = _mm512_shuffle_f32x4(x0, y0, 0x88), r[4 + e] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
    r[8 + e] = _mm512_shuffle_f32x4(x1, y1, 0x88), r[12 + e] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
  }
}
#endif

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
