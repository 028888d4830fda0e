// kernels/dropout.h — element dropout from counter-based random bits: y = x·keep/(1-p).
//
//   const uint64_t first = rng.reserve(attn::kernels::dropout_blocks(n));
//   attn::kernels::dropout_apply(x, y, n, 0.1f, seed, first);   // forward
//   attn::kernels::dropout_apply(g, dx, n, 0.1f, seed, first);  // backward: the same draws
//
// The draw of element e: word w = (e % 32) / 8 of Philox4x32-10 block (key = seed, counter_hi = 0,
// counter_lo = first + 8·(e / 32) + e % 8); e is kept iff uint_to_unit_float(word) >= p, i.e.
// (word >> 8) >= ceil(p·2^24). Every word of every block is used (one block per 4 elements), and the
// layout lets a SIMD target compute 8 blocks side by side and read out 8 consecutive elements per
// word. It is fixed by this definition, not by the vector width: every target, thread count and
// split gives the same bits (the scalar twin in ref/ is the definition). y may alias x.
#pragma once

#include <cstdint>

namespace attn::kernels {

// Philox blocks (counters) that n elements use: 8 per started group of 32.
inline constexpr uint64_t dropout_blocks(int64_t n) { return static_cast<uint64_t>((n + 31) / 32) * 8; }

// p in [0, 1); y[e] = keep(e) ? x[e] / (1 - p) : 0 (computed as x[e] · (1/(1-p)) in f32).
void dropout_apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t first);

namespace ref {
void dropout_apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t first);
}  // namespace ref

}  // namespace attn::kernels
