// core/rng.cpp — Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
// Every draw is philox(seed, counter); fills index counters by element, so results do not depend
// on how the work is split across threads.
#include <attn/rng.h>
#include <attn/threads.h>

#include <cmath>

namespace attn {

std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_hi, uint64_t counter_lo) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

namespace {
// Counter layout: hi = 0 for the sequential stream; each counter yields 4 words, we use word 0
// (uniform) or words 0,1 (normal) so that element i of a fill maps to counter offset + i.
float normal_from(uint64_t seed, uint64_t counter) {
  const auto r = philox4x32(seed, 0, counter);
  const float u1 = (static_cast<float>(r[0] >> 8) + 1.0f) * (1.0f / 16777217.0f);  // (0, 1]
  const float u2 = uint_to_unit_float(r[1]);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.283185307179586f * u2);
}

template <class F>
void fill_f32(Tensor& t, F value_at) {
  ATTN_CHECK(t.dtype() == DType::kF32, ShapeError, "Rng fill: tensor must be f32, got {}", t.str());
  if (t.is_contiguous()) {
    float* p = t.data<float>();
    parallel_for(t.numel(), 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = value_at(static_cast<uint64_t>(i));
    });
    return;
  }
  Tensor tmp = Tensor::empty(t.shape());
  fill_f32(tmp, value_at);
  t.copy_from(tmp);
}
}  // namespace

uint64_t Rng::reserve(uint64_t n) {
  const uint64_t first = state_.offset;
  state_.offset += n;
  return first;
}

float Rng::uniform() { return uint_to_unit_float(philox4x32(state_.seed, 0, reserve(1))[0]); }

float Rng::normal() { return normal_from(state_.seed, reserve(1)); }

uint64_t Rng::next_u64() {
  const auto r = philox4x32(state_.seed, 0, reserve(1));
  return (static_cast<uint64_t>(r[1]) << 32) | r[0];
}

int64_t Rng::randint(int64_t lo, int64_t hi) {
  ATTN_CHECK(hi > lo, ValueError, "Rng::randint: empty range [{}, {})", lo, hi);
  const uint64_t span = static_cast<uint64_t>(hi - lo);
  // Rejection sampling keeps the distribution exactly uniform.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return lo + static_cast<int64_t>(x % span);
}

void Rng::uniform_(Tensor& t, float lo, float hi) {
  const uint64_t seed = state_.seed, first = reserve(static_cast<uint64_t>(t.numel()));
  fill_f32(t, [=](uint64_t i) { return lo + (hi - lo) * uint_to_unit_float(philox4x32(seed, 0, first + i)[0]); });
}

void Rng::normal_(Tensor& t, float mean, float std) {
  const uint64_t seed = state_.seed, first = reserve(static_cast<uint64_t>(t.numel()));
  fill_f32(t, [=](uint64_t i) { return mean + std * normal_from(seed, first + i); });
}

}  // namespace attn
