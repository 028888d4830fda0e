// attn/rng.h — seeded, counter-based random numbers (Philox4x32-10).
//
//   Rng rng(42);
//   Tensor w = Tensor::empty({768, 768});
//   rng.normal_(w, 0.0f, 0.02f);            // same numbers on every machine and thread count
//   float u = rng.uniform();
//
// Each number is a pure function of (seed, counter): fills split across threads by element index,
// so the thread count never changes a result. The state is two integers (seed, offset) that a
// checkpoint saves and restores exactly.
#pragma once

#include <attn/tensor.h>

#include <array>
#include <cstdint>

namespace attn {

// Philox4x32-10: four 32-bit random words for (key, counter).
std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_hi, uint64_t counter_lo);
// A uniform float in [0, 1) from 32 random bits (24 significant bits).
inline float uint_to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

struct RngState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // counters consumed so far
};

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_{seed, 0} {}
  explicit Rng(RngState s) : state_(s) {}

  RngState state() const { return state_; }
  void set_state(RngState s) { state_ = s; }

  float uniform();                      // [0, 1)
  float normal();                       // N(0, 1), Box-Muller
  uint64_t next_u64();
  int64_t randint(int64_t lo, int64_t hi);  // [lo, hi)

  // In-place fills of an f32 tensor (contiguous or not); consume numel() counters.
  void uniform_(Tensor& t, float lo, float hi);
  void normal_(Tensor& t, float mean, float std);
  // Reserves `n` counters and returns the first: for kernels (dropout) that draw by element index.
  uint64_t reserve(uint64_t n);

 private:
  RngState state_;
};

}  // namespace attn
