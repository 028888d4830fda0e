// tests/kernels/kernel_test_util.h — helpers for kernel tests: run a body on every compiled target
// this CPU supports, random inputs, and tolerance checks against the float64 reference twins.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"

namespace attn::kernels::test {

// Sizes that hit: a single element, less than one vector, vector + tail, several chunks.
inline const std::vector<int64_t> kAwkwardSizes = {1, 7, 16, 129, 1000, 1031};

// Runs body() once per usable target with that target forced, tracing its name on failure.
inline void for_each_target(const std::function<void()>& body) {
  const auto targets = usable_targets();
  ASSERT_FALSE(targets.empty());
  for (int64_t t : targets) {
    ScopedCpuTarget force(t);
    SCOPED_TRACE("target " + target_name(t));
    ASSERT_EQ(chosen_target(), t);
    body();
  }
}

inline std::vector<float> random_floats(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

// |got - want| <= atol + rtol·|want|, element-wise; NaN must match NaN, ±inf must match exactly.
inline ::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& want,
                                            double atol, double rtol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g))
        return ::testing::AssertionFailure() << "at " << i << ": got " << g << ", want " << w;
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) return ::testing::AssertionFailure() << "at " << i << ": got " << g << ", want " << w;
      continue;
    }
    if (std::fabs(g - w) > atol + rtol * std::fabs(w))
      return ::testing::AssertionFailure() << "at " << i << " of " << got.size() << ": got " << g << ", want "
                                           << w << " (diff " << std::fabs(g - w) << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace attn::kernels::test
