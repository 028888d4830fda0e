// tests/ops/ops_test_util.h — random tensors and element-wise comparison for op tests.
#pragma once

#include <attn/rng.h>
#include <attn/tensor.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

namespace attn::test {

inline Tensor rand_tensor(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.uniform_(t, lo, hi);
  return t;
}

inline Tensor randn(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng(seed).normal_(t, 0.0f, 1.0f);
  return t;
}

// got vs want(index) over got's shape: |g - w| <= atol + rtol·|w|; NaN/inf must match.
inline ::testing::AssertionResult close_to(const Tensor& got, const Shape& want_shape,
                                           const std::function<double(std::span<const int64_t>)>& want, double atol,
                                           double rtol) {
  if (got.shape() != want_shape)
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << ", want " << shape_str(want_shape);
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  bool failed = false;
  for_each_index(want_shape, [&](std::span<const int64_t> idx) {
    if (failed) return;
    const double g = got.get(idx), w = want(idx);
    const bool ok = (std::isnan(w) && std::isnan(g)) || (std::isinf(w) && g == w) ||
                    (std::isfinite(w) && std::fabs(g - w) <= atol + rtol * std::fabs(w));
    if (!ok) {
      std::string at;
      for (int64_t i : idx) at += std::to_string(i) + ",";
      result = ::testing::AssertionFailure() << "at [" << at << "]: got " << g << ", want " << w;
      failed = true;
    }
  });
  return result;
}

// Expects `fn` to throw E whose message contains every string in `parts`.
template <class E>
void expect_error(const std::function<void()>& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace attn::test
