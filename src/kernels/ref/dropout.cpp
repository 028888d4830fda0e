// kernels/ref/dropout.cpp — the scalar definition of element dropout's draws (kernels/dropout.h):
// one Philox block per element group slot, straight from attn::philox4x32.
#include <attn/rng.h>

#include "kernels/dropout.h"

namespace attn::kernels::ref {

void dropout_apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t first) {
  const float scale = 1.0f / (1.0f - p);
  for (int64_t e = 0; e < n; ++e) {
    const uint64_t block = first + 8 * static_cast<uint64_t>(e / 32) + static_cast<uint64_t>(e % 8);
    const uint32_t word = philox4x32(seed, 0, block)[static_cast<size_t>((e % 32) / 8)];
    y[e] = uint_to_unit_float(word) >= p ? x[e] * scale : 0.0f;
  }
}

}  // namespace attn::kernels::ref
