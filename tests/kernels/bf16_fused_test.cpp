// tests/kernels/bf16_fused_test.cpp — the bf16-writing fused kernels are bit for bit the compositions
// they replace (unary + f32_to_bf16; unary_backward + f32_to_bf16_colsum), on every target, at shapes
// that take whole-row pieces, row segments (cols > the stack buffer) and the threaded path, and for
// any thread count. (Each composition is itself checked against the float64 twins elsewhere.)
#include <attn/threads.h>

#include <cstring>

#include "kernels/bf16_fused.h"
#include "kernels/convert.h"
#include "kernels/grad.h"
#include "kernels/kernel_test_util.h"

namespace attn::kernels {
namespace {
using test::for_each_target;
using test::random_floats;

const UnaryOp kOps[] = {UnaryOp::kGeluErf, UnaryOp::kGeluTanh, UnaryOp::kSilu, UnaryOp::kRelu};
struct Rc {
  int64_t rows, cols;
};
const Rc kShapes[] = {{1, 1}, {3, 17}, {5, 2049}, {70, 1536}, {2048, 40}};

TEST(Bf16Fused, UnaryToBf16IsTheComposition) {
  for_each_target([] {
    for (UnaryOp op : kOps)
      for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{2047}, int64_t{2049}, int64_t{70001}}) {
        const auto x = random_floats(n, -6, 6, static_cast<uint32_t>(n) + 1);
        std::vector<float> a(n);
        std::vector<uint16_t> want(n), got(n);
        unary(op, x.data(), a.data(), n);
        f32_to_bf16(a.data(), want.data(), n);
        unary_to_bf16(op, x.data(), got.data(), n);
        ASSERT_EQ(got, want) << "op " << static_cast<int>(op) << " n=" << n;
      }
  });
}

TEST(Bf16Fused, BackwardToBf16ColsumIsTheComposition) {
  for_each_target([] {
    for (UnaryOp op : kOps)
      for (const Rc& s : kShapes) {
        SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) + " op " + std::to_string(int(op)));
        const int64_t n = s.rows * s.cols;
        const auto x = random_floats(n, -6, 6, 21), g = random_floats(n, -1, 1, 22);
        std::vector<float> d(n), want_sum(s.cols), got_sum(s.cols);
        std::vector<uint16_t> want(n), got(n), got_nosum(n);
        unary_backward(op, x.data(), nullptr, g.data(), d.data(), n);
        f32_to_bf16_colsum(d.data(), want.data(), want_sum.data(), s.rows, s.cols);
        unary_backward_to_bf16_colsum(op, x.data(), nullptr, g.data(), got.data(), got_sum.data(), s.rows, s.cols);
        ASSERT_EQ(got, want);
        ASSERT_EQ(std::memcmp(got_sum.data(), want_sum.data(), 4 * s.cols), 0);
        unary_backward_to_bf16_colsum(op, x.data(), nullptr, g.data(), got_nosum.data(), nullptr, s.rows, s.cols);
        ASSERT_EQ(got_nosum, want);
      }
  });
}

TEST(Bf16Fused, SameBitsOnOneAndTwoThreads) {
  const int saved = num_threads();
  const int64_t rows = 300, cols = 1536, n = rows * cols;
  const auto x = random_floats(n, -4, 4, 31), g = random_floats(n, -1, 1, 32);
  std::vector<uint16_t> d1(n), d2(n), a1(n), a2(n);
  std::vector<float> s1(cols), s2(cols);
  set_num_threads(1);
  unary_backward_to_bf16_colsum(UnaryOp::kGeluErf, x.data(), nullptr, g.data(), d1.data(), s1.data(), rows, cols);
  unary_to_bf16(UnaryOp::kGeluErf, x.data(), a1.data(), n);
  set_num_threads(2);
  unary_backward_to_bf16_colsum(UnaryOp::kGeluErf, x.data(), nullptr, g.data(), d2.data(), s2.data(), rows, cols);
  unary_to_bf16(UnaryOp::kGeluErf, x.data(), a2.data(), n);
  set_num_threads(saved);
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(std::memcmp(s1.data(), s2.data(), 4 * cols), 0);
  EXPECT_EQ(a1, a2);
}

}  // namespace
}  // namespace attn::kernels
