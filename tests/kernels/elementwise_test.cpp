// tests/kernels/elementwise_test.cpp — unary, binary and select kernels against the float64 twins,
// on every target, at awkward sizes. Table-driven: one row per op with its input range and tolerance.
#include <limits>

#include "kernels/elementwise.h"
#include "kernels/kernel_test_util.h"

namespace attn::kernels {
namespace {
using test::all_close;
using test::for_each_target;
using test::random_floats;

struct UnaryCase {
  const char* name;
  UnaryOp op;
  float lo, hi;  // input range
  double atol, rtol;
};

// Every UnaryOp must have a row (checked below).
const UnaryCase kUnaryCases[] = {
    {"neg", UnaryOp::kNeg, -10, 10, 0, 0},
    {"exp", UnaryOp::kExp, -100, 88, 1e-38, 4e-7},  // atol: subnormal results
    {"log", UnaryOp::kLog, 1e-6f, 1e6f, 1e-7, 4e-7},
    {"tanh", UnaryOp::kTanh, -12, 12, 1e-7, 4e-7},
    {"sqrt", UnaryOp::kSqrt, 0, 1e4f, 0, 2e-7},
    {"rsqrt", UnaryOp::kRsqrt, 1e-4f, 1e4f, 0, 4e-7},
    {"abs", UnaryOp::kAbs, -10, 10, 0, 0},
    {"square", UnaryOp::kSquare, -100, 100, 0, 2e-7},
    {"relu", UnaryOp::kRelu, -10, 10, 0, 0},
    {"silu", UnaryOp::kSilu, -30, 30, 1e-7, 1e-6},
    {"sigmoid", UnaryOp::kSigmoid, -30, 30, 1e-7, 1e-6},
    {"gelu_erf", UnaryOp::kGeluErf, -8, 8, 1e-6, 2e-6},
    {"gelu_tanh", UnaryOp::kGeluTanh, -8, 8, 1e-6, 2e-6},
};

TEST(Elementwise, EveryUnaryOpHasATableRow) {
  for (int op = 0; op <= static_cast<int>(UnaryOp::kGeluTanh); ++op) {
    bool found = false;
    for (const auto& c : kUnaryCases) found |= static_cast<int>(c.op) == op;
    EXPECT_TRUE(found) << "UnaryOp " << op << " has no row in kUnaryCases";
  }
}

TEST(Elementwise, UnaryMatchesReference) {
  for_each_target([] {
    for (const auto& c : kUnaryCases) {
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{129}, int64_t{1000}, int64_t{40000}}) {
        SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
        const auto x = random_floats(n, c.lo, c.hi, static_cast<uint32_t>(n));
        std::vector<float> got(x.size()), want(x.size());
        unary(c.op, x.data(), got.data(), n);
        ref::unary(c.op, x.data(), want.data(), n);
        EXPECT_TRUE(all_close(got, want, c.atol, c.rtol));
      }
    }
  });
}

TEST(Elementwise, UnarySpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {0.0f, -0.0f, inf, -inf, nan, 1e4f, -1e4f, 200.0f, -200.0f};
  for_each_target([&] {
    for (UnaryOp op : {UnaryOp::kExp, UnaryOp::kLog, UnaryOp::kTanh, UnaryOp::kRelu, UnaryOp::kSigmoid,
                       UnaryOp::kGeluErf, UnaryOp::kSqrt}) {
      SCOPED_TRACE(static_cast<int>(op));
      std::vector<float> got(x.size()), want(x.size());
      unary(op, x.data(), got.data(), static_cast<int64_t>(x.size()));
      ref::unary(op, x.data(), want.data(), static_cast<int64_t>(x.size()));
      EXPECT_TRUE(all_close(got, want, 1e-7, 1e-6));
    }
  });
}

TEST(Elementwise, UnaryInPlace) {
  for_each_target([] {
    auto x = random_floats(1031, -5, 5, 3);
    std::vector<float> want(x.size());
    ref::unary(UnaryOp::kGeluTanh, x.data(), want.data(), 1031);
    unary(UnaryOp::kGeluTanh, x.data(), x.data(), 1031);
    EXPECT_TRUE(all_close(x, want, 1e-6, 2e-6));
  });
}

// [R, n] (+) b laid out as: contiguous [R,n], a row vector [n] (stride 0 over rows), a column [R,1]
// (inner 0), a scalar.
TEST(Elementwise, BinaryBroadcastLayouts) {
  for_each_target([] {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{129}, int64_t{1000}}) {
      const int64_t R = 5;
      const auto a = random_floats(R * n, -3, 3, 11);
      const auto b = random_floats(R * n, 0.5f, 3, 12);
      struct Layout {
        const char* name;
        int64_t b_row_stride, b_inner;
      };
      for (const Layout& bl : {Layout{"full", n, 1}, Layout{"row", 0, 1}, Layout{"col", 1, 0}, Layout{"scalar", 0, 0}}) {
        RowLayout l;
        l.rows = R, l.n = n, l.ndim = 1, l.size[0] = R;
        l.stride[0][0] = n, l.inner[0] = 1;
        l.stride[1][0] = bl.b_row_stride, l.inner[1] = bl.b_inner;
        for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv, BinaryOp::kMax, BinaryOp::kMin}) {
          SCOPED_TRACE(std::string(bl.name) + " n=" + std::to_string(n) + " op=" + std::to_string(static_cast<int>(op)));
          std::vector<float> got(R * n), want(R * n);
          binary(op, l, a.data(), b.data(), got.data());
          ref::binary(op, l, a.data(), b.data(), want.data());
          EXPECT_TRUE(all_close(got, want, 0, 0));  // one rounding each: bit-identical
        }
      }
    }
  });
}

TEST(Elementwise, BinaryMaxPropagatesNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a = {1, nan, 3, 4, 5, 6, 7, 8, 9}, b = {nan, 2, 1, 9, 1, 9, 1, 9, 1};
  RowLayout l;
  l.n = 9;
  for_each_target([&] {
    std::vector<float> got(9);
    binary(BinaryOp::kMax, l, a.data(), b.data(), got.data());
    EXPECT_TRUE(std::isnan(got[0]) && std::isnan(got[1]));
    EXPECT_EQ(got[3], 9.0f);
  });
}

// Two outer dims with threaded work (rows·n above the parallel threshold).
TEST(Elementwise, BinaryTwoOuterDimsLarge) {
  for_each_target([] {
    const int64_t B = 3, T = 40, C = 300;  // a [B,T,C] + b [B,1,C]
    const auto a = random_floats(B * T * C, -1, 1, 5), b = random_floats(B * C, -1, 1, 6);
    RowLayout l;
    l.rows = B * T, l.n = C, l.ndim = 2, l.size[0] = B, l.size[1] = T;
    l.stride[0][0] = T * C, l.stride[0][1] = C;
    l.stride[1][0] = C, l.stride[1][1] = 0;
    std::vector<float> got(B * T * C), want(B * T * C);
    binary(BinaryOp::kAdd, l, a.data(), b.data(), got.data());
    ref::binary(BinaryOp::kAdd, l, a.data(), b.data(), want.data());
    EXPECT_TRUE(all_close(got, want, 0, 0));
  });
}

// A kernel called from inside a parallel region (as the fused bf16 kernels call unary and convert on
// their pieces) runs its items on the calling thread without opening a nested OpenMP region; every
// item must still be written, with the same bits as the top-level (threaded) call.
TEST(Elementwise, SameBitsInsideAParallelRegion) {
  for_each_target([] {
    const int64_t n = 200003;  // above the threading threshold, a ragged last chunk
    const auto x = random_floats(n, -4, 4, 7);
    std::vector<float> want(n);
    unary(UnaryOp::kGeluTanh, x.data(), want.data(), n);
    std::vector<std::vector<float>> got(2, std::vector<float>(n, NAN));
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 2; ++t) unary(UnaryOp::kGeluTanh, x.data(), got[t].data(), n);
    for (const auto& g : got) EXPECT_TRUE(all_close(g, want, 0, 0));
  });
}

TEST(Elementwise, SelectMatchesReference) {
  for_each_target([] {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{129}, int64_t{1000}}) {
      const int64_t R = 3;
      const auto a = random_floats(R * n, -3, 3, 1), b = random_floats(n, -3, 3, 2);
      auto cond = random_floats(R * n, -1, 1, 3);
      for (float& c : cond) c = c > 0 ? 1.0f : 0.0f;
      RowLayout l;
      l.rows = R, l.n = n, l.ndim = 1, l.size[0] = R;
      l.stride[0][0] = n, l.stride[1][0] = 0, l.stride[2][0] = n;
      std::vector<float> got(R * n), want(R * n);
      select(l, cond.data(), a.data(), b.data(), got.data());
      ref::select(l, cond.data(), a.data(), b.data(), want.data());
      EXPECT_TRUE(all_close(got, want, 0, 0)) << "n=" << n;
    }
  });
}

}  // namespace
}  // namespace attn::kernels
