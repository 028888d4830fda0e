// tests/kernels/grad_kernels_test.cpp — the SIMD backward kernels (unary ops, LayerNorm, RMSNorm)
// against their float64 twins in kernels/grad.h on every target this CPU supports, at sizes that hit
// the vector tails and the threaded path, over wide input ranges with ±0, huge |x|, ±inf and NaN.
#include <attn/threads.h>

#include <algorithm>
#include <limits>

#include "kernels/grad.h"
#include "kernels/kernel_test_util.h"
#include "kernels/norm.h"

namespace attn::kernels {
namespace {
using test::for_each_target;
using test::random_floats;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr double kEps = 1.0 / (1 << 24);  // f32 unit roundoff (half an ulp at 1)

// Tolerance, per element: |got - want| <= rtol·|want| + atol·|g|.
// The kernel evaluates f' in f32 in a handful of roundings (plus Highway's 1-ulp exp, a division
// and, for GELU-erf, the ~1e-7-absolute rational erf shared with the forward) where the twin rounds
// once from double: a few ulp relative (rtol). Where f' is a difference of O(1) terms — near the
// zero of SiLU' (x ≈ -2.4), GELU' (x ≈ -0.75) and the tails of Φ(x) = ½(1 + erf) — the error is a
// few ulp of those terms, i.e. absolute in f' and hence proportional to |g| (atol).
struct UnaryCase {
  const char* name;
  UnaryOp op;
  float lo, hi;  // range of the random inputs (special values are added on top)
  double atol, rtol;
};
const UnaryCase kUnaryCases[] = {
    {"neg", UnaryOp::kNeg, -10, 10, 0, 0},
    {"exp", UnaryOp::kExp, -100, 88, 0, 1 * kEps},
    {"log", UnaryOp::kLog, 1e-6f, 1e6f, 0, 1 * kEps},
    {"tanh", UnaryOp::kTanh, -12, 12, 0, 4 * kEps},
    {"sqrt", UnaryOp::kSqrt, 0, 1e4f, 0, 1 * kEps},
    {"rsqrt", UnaryOp::kRsqrt, 1e-4f, 1e4f, 0, 5 * kEps},
    {"abs", UnaryOp::kAbs, -10, 10, 0, 0},
    {"square", UnaryOp::kSquare, -100, 100, 0, 1 * kEps},
    {"relu", UnaryOp::kRelu, -10, 10, 0, 0},
    {"sigmoid", UnaryOp::kSigmoid, -30, 30, 0, 3 * kEps},
    {"silu", UnaryOp::kSilu, -30, 30, 4 * kEps, 8 * kEps},
    {"gelu_erf", UnaryOp::kGeluErf, -10, 10, 2e-7, 8 * kEps},
    {"gelu_tanh", UnaryOp::kGeluTanh, -10, 10, 4 * kEps, 8 * kEps},
};

// Added to every input at a fixed stride: signed zeros, tiny and huge magnitudes (up to FLT_MAX),
// the f32 exp overflow edge, infinities and NaN. Ops outside their domain (log, sqrt of < 0) give
// NaN forward values that the derivative must carry exactly as the twin does.
const float kSpecials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-3f, -1e-3f, 20.0f, -20.0f, 88.8f, -88.8f, 1e4f,
                           -1e4f, 1e20f, -1e20f, 3.4e38f, -3.4e38f, kInf, -kInf, kNan};

// g·f'(x) of the kernel vs the twin; NaN must match NaN and ±inf must match exactly.
::testing::AssertionResult grads_close(const std::vector<float>& got, const std::vector<float>& want,
                                       const std::vector<float>& g, double atol, double rtol) {
  for (size_t i = 0; i < got.size(); ++i) {
    const double a = got[i], w = want[i];
    const bool ok = std::isnan(w) || std::isnan(a) ? std::isnan(w) == std::isnan(a)
                    : std::isinf(w) || std::isinf(a) ? a == w
                                                     : std::fabs(a - w) <= rtol * std::fabs(w) + atol * std::fabs(g[i]);
    if (!ok)
      return ::testing::AssertionFailure() << "at " << i << " of " << got.size() << ": got " << a << ", want " << w
                                           << " (g " << g[i] << ")";
  }
  return ::testing::AssertionSuccess();
}

// Inputs for one case: uniform in [lo, hi] with every 5th element a special value; g of magnitude
// [1/4, 2] with random signs (so no product underflows or overflows only in one of the two).
std::vector<float> case_inputs(const UnaryCase& c, int64_t n, uint32_t seed) {
  auto x = random_floats(n, c.lo, c.hi, seed);
  size_t k = seed % std::size(kSpecials);
  for (int64_t i = 2; i < n; i += 5) x[static_cast<size_t>(i)] = kSpecials[k++ % std::size(kSpecials)];
  return x;
}
std::vector<float> upstream_grads(int64_t n, uint32_t seed) {
  auto g = random_floats(n, -2, 2, seed);
  for (float& v : g) v = std::copysign(std::max(std::fabs(v), 0.25f), v);
  return g;
}

TEST(GradKernels, EveryUnaryOpHasATableRow) {
  for (int op = 0; op <= static_cast<int>(UnaryOp::kGeluTanh); ++op) {
    bool found = false;
    for (const auto& c : kUnaryCases) found |= static_cast<int>(c.op) == op;
    EXPECT_TRUE(found) << "UnaryOp " << op << " has no row in kUnaryCases";
  }
}

TEST(GradKernels, UnaryBackwardMatchesReference) {
  for_each_target([] {
    for (const auto& c : kUnaryCases) {
      for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{15}, int64_t{17}, int64_t{1000}, int64_t{70000}}) {
        SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
        const auto x = case_inputs(c, n, static_cast<uint32_t>(n + 1));
        const auto g = upstream_grads(n, static_cast<uint32_t>(n + 2));
        std::vector<float> y(x.size()), got(x.size(), -7.0f), want(x.size());
        ref::unary(c.op, x.data(), y.data(), n);
        unary_backward(c.op, x.data(), y.data(), g.data(), got.data(), n);
        ref::unary_backward(c.op, x.data(), y.data(), g.data(), want.data(), n);
        EXPECT_TRUE(grads_close(got, want, g, c.atol, c.rtol));
      }
    }
  });
}

// The semantics the kernel keeps from its scalar predecessor, spelled out.
TEST(GradKernels, UnaryBackwardSpecialValues) {
  const std::vector<float> x = {0.0f, -0.0f, kNan, kInf, -kInf, 1e20f, -1e20f, 3.4e38f, -3.4e38f};
  const std::vector<float> g(x.size(), 3.0f);
  auto run = [&](UnaryOp op) {
    std::vector<float> dx(x.size());
    unary_backward(op, x.data(), nullptr, g.data(), dx.data(), static_cast<int64_t>(x.size()));
    return dx;
  };
  for_each_target([&] {
    for (UnaryOp op : {UnaryOp::kRelu, UnaryOp::kAbs}) {  // 0 at ±0 and at NaN
      const auto dx = run(op);
      EXPECT_EQ(dx[0], 0.0f);
      EXPECT_EQ(dx[1], 0.0f);
      EXPECT_EQ(dx[2], 0.0f);
      EXPECT_EQ(dx[3], 3.0f);
      EXPECT_EQ(dx[4], op == UnaryOp::kRelu ? 0.0f : -3.0f);
    }
    for (UnaryOp op : {UnaryOp::kGeluErf, UnaryOp::kGeluTanh, UnaryOp::kSilu}) {
      const auto dx = run(op);
      EXPECT_NEAR(dx[0], 1.5f, 1e-6);  // f'(0) = ½
      EXPECT_TRUE(std::isnan(dx[2]) && std::isnan(dx[3]) && std::isnan(dx[4]));  // NaN in; ∞·0 at ±inf
      for (size_t i : {5u, 7u}) EXPECT_NEAR(dx[i], 3.0f, 1e-6) << i;             // f' -> 1 for huge x
      for (size_t i : {6u, 8u}) EXPECT_NEAR(dx[i], 0.0f, 1e-6) << i;             // f' -> 0 for huge -x
    }
    const auto dneg = run(UnaryOp::kNeg);  // reads neither x nor y
    std::vector<float> none(x.size(), -1.0f);
    unary_backward(UnaryOp::kNeg, nullptr, nullptr, g.data(), none.data(), static_cast<int64_t>(x.size()));
    for (float v : none) EXPECT_EQ(v, -3.0f);
    // Ops of y read only y: x may be null.
    const std::vector<float> y = {0.5f, 0.25f};
    std::vector<float> ds(2);
    unary_backward(UnaryOp::kSigmoid, nullptr, y.data(), g.data(), ds.data(), 2);
    EXPECT_EQ(ds[0], 0.75f);
    EXPECT_EQ(ds[1], 3.0f * 0.25f * 0.75f);
  });
}

TEST(GradKernels, UnaryBackwardInPlace) {  // dx may alias g (the op layer does not rely on it; cheap to keep)
  for_each_target([] {
    const auto x = random_floats(1031, -5, 5, 3);
    auto g = upstream_grads(1031, 4);
    std::vector<float> want(x.size());
    ref::unary_backward(UnaryOp::kGeluErf, x.data(), nullptr, g.data(), want.data(), 1031);
    const auto g0 = g;
    unary_backward(UnaryOp::kGeluErf, x.data(), nullptr, g.data(), g.data(), 1031);
    EXPECT_TRUE(grads_close(g, want, g0, 2e-7, 8 * kEps));
  });
}

// ---- LayerNorm / RMSNorm backward ----
//
// Tolerance per element: (⌈C/L⌉ + 16)·ε·S, S the magnitude of the terms the result is made of. The
// kernel sums each row in L f32 vector lanes (⌈C/L⌉ terms per lane; the worst-case bound of an f32
// sum of m terms is m·ε·Σ|terms|), combines the lanes in double, and adds a handful of roundings;
// dw/db sum ≤ kRowChunk = 64 rows per partial in f32, then partials in double: (64 + 16)·ε·Σ|terms|.
struct NormCase {
  int64_t rows, C;
  bool weight, dw, db;
};
const NormCase kNormCases[] = {{1, 1, true, true, true},    {3, 15, true, true, true},  {3, 17, false, true, true},
                               {5, 128, true, false, true}, {5, 128, true, true, false}, {130, 17, true, true, true},
                               {130, 128, true, true, true}, {7, 1000, false, false, false}};

struct NormData {
  std::vector<float> x, w, g, mean, rstd;
};
NormData norm_data(const NormCase& c, uint32_t seed) {
  NormData n{random_floats(c.rows * c.C, -3, 3, seed), random_floats(c.C, 0.5f, 1.5f, seed + 1),
             random_floats(c.rows * c.C, -1, 1, seed + 2), std::vector<float>(c.rows), std::vector<float>(c.rows)};
  for (int64_t r = 0; r < c.rows; r += 2)  // every other row with a common offset
    for (int64_t k = 0; k < c.C; ++k) n.x[r * c.C + k] += 10.0f;
  std::vector<float> y(n.x.size());
  ref::layer_norm_rows(n.x.data(), n.w.data(), nullptr, y.data(), n.mean.data(), n.rstd.data(), c.rows, c.C, 1e-5f);
  return n;
}

::testing::AssertionResult within(const std::vector<float>& got, const std::vector<float>& want,
                                  const std::vector<double>& tol) {
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(double(got[i]) - want[i]) <= tol[i]))
      return ::testing::AssertionFailure() << "at " << i << " of " << got.size() << ": got " << got[i] << ", want "
                                           << want[i] << " (tol " << tol[i] << ")";
  return ::testing::AssertionSuccess();
}

// Tolerances of dx, dw and db for LayerNorm (rms = false) or RMSNorm, from the inputs in double.
struct NormTol {
  std::vector<double> dx, dw, db;
};
// f32 lanes of the chosen target (1 when unknown: the loosest bound).
int64_t target_lanes() {
  const std::string name = target_name(chosen_target());
  if (name.rfind("AVX3", 0) == 0) return 16;
  if (name == "AVX2") return 8;
  return name == "SSE4" || name == "SSSE3" || name == "SSE2" || name == "EMU128" ? 4 : 1;
}

NormTol norm_tolerances(const NormCase& c, const NormData& n, bool rms, float eps) {
  const int64_t C = c.C, L = target_lanes();
  NormTol t{std::vector<double>(n.x.size()), std::vector<double>(C), std::vector<double>(C)};
  const double row_k = (static_cast<double>((C + L - 1) / L) + 16) * kEps, col_k = (64 + 16) * kEps;
  for (int64_t r = 0; r < c.rows; ++r) {
    const float* x = &n.x[r * C];
    const float* g = &n.g[r * C];
    double ss = 0;
    for (int64_t k = 0; k < C; ++k) ss += double(x[k]) * x[k];
    const double s = rms ? 1.0 / std::sqrt(ss / C + eps) : n.rstd[r];
    auto xn = [&](int64_t k) { return rms ? x[k] * s : (x[k] - n.mean[r]) * s; };  // xhat or x·r
    auto dd = [&](int64_t k) { return g[k] * (c.weight ? n.w[k] : 1.0); };
    double ad = 0, adx = 0;
    for (int64_t k = 0; k < C; ++k) ad += std::fabs(dd(k)) / C, adx += std::fabs(dd(k) * xn(k)) / C;
    for (int64_t k = 0; k < C; ++k) {
      t.dx[r * C + k] = row_k * s * (std::fabs(dd(k)) + (rms ? 0 : ad) + std::fabs(xn(k)) * adx);
      t.dw[k] += col_k * std::fabs(g[k] * xn(k));
      t.db[k] += col_k * std::fabs(g[k]);
    }
  }
  return t;
}

TEST(GradKernels, LayerNormBackwardMatchesReference) {
  for_each_target([] {
    for (const auto& c : kNormCases) {
      SCOPED_TRACE("rows=" + std::to_string(c.rows) + " C=" + std::to_string(c.C));
      const NormData n = norm_data(c, static_cast<uint32_t>(c.rows * 7 + c.C));
      const float* w = c.weight ? n.w.data() : nullptr;
      std::vector<float> dx(n.x.size()), dw(c.C, -7.0f), db(c.C, -7.0f), rdx(n.x.size()), rdw(c.C), rdb(c.C);
      layer_norm_backward(n.x.data(), w, n.mean.data(), n.rstd.data(), n.g.data(), dx.data(),
                          c.dw ? dw.data() : nullptr, c.db ? db.data() : nullptr, c.rows, c.C);
      ref::layer_norm_backward(n.x.data(), w, n.mean.data(), n.rstd.data(), n.g.data(), rdx.data(), rdw.data(),
                               rdb.data(), c.rows, c.C);
      const NormTol t = norm_tolerances(c, n, false, 0.0f);
      EXPECT_TRUE(within(dx, rdx, t.dx));
      if (c.dw) { EXPECT_TRUE(within(dw, rdw, t.dw)); }
      if (c.db) { EXPECT_TRUE(within(db, rdb, t.db)); }
      if (!c.dw) { EXPECT_EQ(dw[0], -7.0f); }
      if (!c.db) { EXPECT_EQ(db[0], -7.0f); }
    }
  });
}

TEST(GradKernels, RmsNormBackwardMatchesReference) {
  const float eps = 1e-6f;
  for_each_target([&] {
    for (const auto& c : kNormCases) {
      SCOPED_TRACE("rows=" + std::to_string(c.rows) + " C=" + std::to_string(c.C));
      const NormData n = norm_data(c, static_cast<uint32_t>(c.rows * 5 + c.C));
      const float* w = c.weight ? n.w.data() : nullptr;
      std::vector<float> dx(n.x.size()), dw(c.C, -7.0f), rdx(n.x.size()), rdw(c.C);
      rms_norm_backward(n.x.data(), w, n.g.data(), dx.data(), c.dw ? dw.data() : nullptr, c.rows, c.C, eps);
      ref::rms_norm_backward(n.x.data(), w, n.g.data(), rdx.data(), rdw.data(), c.rows, c.C, eps);
      const NormTol t = norm_tolerances(c, n, true, eps);
      EXPECT_TRUE(within(dx, rdx, t.dx));
      if (c.dw) { EXPECT_TRUE(within(dw, rdw, t.dw)); }
      if (!c.dw) { EXPECT_EQ(dw[0], -7.0f); }
    }
  });
}

// dx, dw, db bit-identical for 1, 2 and 3 threads (fixed row chunks, partials combined in order).
TEST(GradKernels, NormBackwardIndependentOfThreadCount) {
  const NormCase c{300, 100, true, true, true};  // 5 row chunks, rows·C above the parallel threshold
  const NormData n = norm_data(c, 42);
  const int saved = num_threads();
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<float> dx(n.x.size()), dw(c.C), db(c.C), rdx(n.x.size()), rdw(c.C);
    layer_norm_backward(n.x.data(), n.w.data(), n.mean.data(), n.rstd.data(), n.g.data(), dx.data(), dw.data(),
                        db.data(), c.rows, c.C);
    rms_norm_backward(n.x.data(), n.w.data(), n.g.data(), rdx.data(), rdw.data(), c.rows, c.C, 1e-6f);
    for (auto* v : {&dx, &dw, &db, &rdx, &rdw}) outs.push_back(*v);
  }
  set_num_threads(saved);
  for (size_t k = 5; k < outs.size(); ++k) EXPECT_EQ(outs[k], outs[k % 5]) << "output " << k % 5;
}

}  // namespace
}  // namespace attn::kernels
