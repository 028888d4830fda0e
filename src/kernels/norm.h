// kernels/norm.h — LayerNorm and RMSNorm over contiguous rows of C channels.
//
//   attn::kernels::layer_norm_rows(x, w, b, y, mean, rstd, rows, C, 1e-5f);
//
// x, y: [rows, C] (may alias); w, b: [C] or nullptr (= 1 / 0); mean, rstd: [rows] or nullptr — saved
// for the backward pass. Statistics take two passes in f32 SIMD lanes (mean first, then the
// centred variance), which stays accurate for rows with a large common offset. rstd = 1/sqrt(var+eps)
// with the biased variance (divide by C), as torch.nn.LayerNorm.
#pragma once

#include <cstdint>

namespace attn::kernels {

void layer_norm_rows(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                     int64_t rows, int64_t C, float eps);
// y = x · rstd · w with rstd = 1/sqrt(mean(x²) + eps); w may be nullptr; rstd may be nullptr.
void rms_norm_rows(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C, float eps);

namespace ref {
void layer_norm_rows(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                     int64_t rows, int64_t C, float eps);
void rms_norm_rows(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C, float eps);
}  // namespace ref

}  // namespace attn::kernels
