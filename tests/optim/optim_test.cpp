#include <attn/autograd.h>
#include <attn/optim.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "kernels/optimizer.h"

namespace attn {
namespace {

nlohmann::json load_goldens() {
  std::ifstream f(std::string(ATTN_SOURCE_DIR) + "/tests/golden/optim/optim.json");
  EXPECT_TRUE(f.good()) << "missing tests/golden/optim/optim.json (scripts/make_optim_goldens.py)";
  return nlohmann::json::parse(f);
}

// Same formula as the golden script.
Tensor grads(const Shape& shape, int step) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(std::sin(0.37 * double(i + 1) + 0.91 * step) * (1 + 0.1 * step));
  return Tensor::from_vector(v, shape);
}

struct Params {
  Tensor w, b;
  std::vector<OptimParam> list() { return {{"w", &w}, {"b", &b}}; }
  Params() {
    std::vector<float> wv;
    for (int i = 0; i < 12; ++i) wv.push_back(0.5f - 0.1f * static_cast<float>(i));
    w = Tensor::from_vector(wv, {4, 3});
    b = Tensor::from_vector({0.25f, -0.5f, 0.75f, -1.0f}, {4});
  }
};

void run_and_compare(Optimizer& opt, Params& ps, const nlohmann::json& expect, const std::vector<double>& lrs = {}) {
  for (int step = 0; step < 10; ++step) {
    ps.w.set_grad(grads(ps.w.shape(), step));
    ps.b.set_grad(grads(ps.b.shape(), step));
    if (!lrs.empty()) opt.set_lr(lrs[static_cast<size_t>(step)]);
    opt.step();
  }
  const std::vector<float> w = ps.w.to_vector(), b = ps.b.to_vector();
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], expect[0][i].get<double>(), 2e-6) << "w " << i;
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(b[i], expect[1][i].get<double>(), 2e-6) << "b " << i;
}

TEST(Optim, AdamWMatchesTorch) {
  const auto g = load_goldens();
  Params ps;
  AdamW opt(ps.list(), {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1});
  EXPECT_TRUE(opt.decays(0));
  EXPECT_FALSE(opt.decays(1));
  run_and_compare(opt, ps, g["cases"]["adamw"]);
  EXPECT_EQ(opt.step_count(), 10);
}

TEST(Optim, AdamWWithChangingLrMatchesTorch) {
  const auto g = load_goldens();
  Params ps;
  AdamW opt(ps.list(), {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .weight_decay = 0.1});
  run_and_compare(opt, ps, g["cases"]["adamw_lr_schedule"], g["lrs"].get<std::vector<double>>());
}

TEST(Optim, SgdVariantsMatchTorch) {
  const auto g = load_goldens();
  {
    Params ps;
    Sgd opt(ps.list(), {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
    run_and_compare(opt, ps, g["cases"]["sgd_momentum"]);
  }
  {
    Params ps;
    Sgd opt(ps.list(), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
    run_and_compare(opt, ps, g["cases"]["sgd_nesterov"]);
  }
  {
    Params ps;
    Sgd opt(ps.list(), {.lr = 0.1});
    run_and_compare(opt, ps, g["cases"]["sgd_plain"]);
  }
  Params ps;
  EXPECT_THROW(Sgd(ps.list(), {.lr = 0.1, .momentum = 0.0, .nesterov = true}), ConfigError);
}

TEST(Optim, StateRoundTripResumesExactly) {
  Params a, b;
  AdamW oa(a.list(), {.lr = 1e-2, .weight_decay = 0.1});
  AdamW ob(b.list(), {.lr = 1e-2, .weight_decay = 0.1});
  for (int step = 0; step < 4; ++step) {
    a.w.set_grad(grads(a.w.shape(), step));
    a.b.set_grad(grads(a.b.shape(), step));
    oa.step();
  }
  // Resume b from a's state and parameters, then both take the same steps: bit-identical.
  ob.load_state(oa.state());
  b.w.copy_from(a.w);
  b.b.copy_from(a.b);
  for (int step = 4; step < 8; ++step) {
    for (Params* p : {&a, &b}) {
      p->w.set_grad(grads(p->w.shape(), step));
      p->b.set_grad(grads(p->b.shape(), step));
    }
    oa.step();
    ob.step();
  }
  EXPECT_EQ(a.w.to_vector(), b.w.to_vector());
  EXPECT_EQ(a.b.to_vector(), b.b.to_vector());
  auto bad = oa.state();
  bad["w.exp_avg"] = Tensor::zeros({3, 4});
  EXPECT_THROW(ob.load_state(bad), ShapeError);
  bad.erase("w.exp_avg");
  EXPECT_THROW(ob.load_state(bad), FormatError);
}

TEST(Optim, AdamWKernelMatchesFloat64Twin) {
  const int64_t n = 10007;  // odd: exercises the vector tail
  std::vector<float> p(n), g(n), m(n), v(n);
  Rng rng(3);
  for (int64_t i = 0; i < n; ++i) {
    p[i] = rng.normal(), g[i] = rng.normal(), m[i] = 0.1f * rng.normal(), v[i] = std::fabs(rng.normal());
  }
  auto p2 = p, m2 = m, v2 = v;
  const kernels::AdamWStep s{.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f,
                             .bias_correction1 = 0.1f, .bias_correction2_sqrt = 0.0316f};
  kernels::adamw_update(p.data(), g.data(), m.data(), v.data(), n, s);
  kernels::ref::adamw_update(p2.data(), g.data(), m2.data(), v2.data(), n, s);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_NEAR(p[i], p2[i], 1e-6f * (1 + std::fabs(p2[i]))) << i;
    ASSERT_NEAR(m[i], m2[i], 1e-6f) << i;
  }
}

TEST(Optim, ClipGradNormScalesToTheLimit) {
  Params ps;
  ps.w.set_grad(Tensor::full({4, 3}, 1.0));
  ps.b.set_grad(Tensor::full({4}, 2.0));
  auto list = ps.list();
  const double norm = std::sqrt(12.0 + 16.0);
  EXPECT_NEAR(grad_norm(list), norm, 1e-9);
  EXPECT_NEAR(clip_grad_norm(list, 1.0), norm, 1e-9);
  EXPECT_NEAR(grad_norm(list), 1.0, 1e-5);
  EXPECT_NEAR(clip_grad_norm(list, 10.0), 1.0, 1e-5);  // under the limit: untouched
  EXPECT_NEAR(grad_norm(list), 1.0, 1e-5);
  ps.b.set_grad(Tensor::full({4}, NAN));
  EXPECT_TRUE(std::isnan(clip_grad_norm(list, 1.0)));
}

// Clipping scales a gradient in place only when nothing else holds its buffer; a shared one is
// copied first, so the other holder never sees the scaling.
TEST(Optim, ClipGradNormNeverScalesASharedBuffer) {
  Params ps;
  const Tensor shared = Tensor::full({4, 3}, 3.0);
  ps.w.set_grad(shared);
  ps.b.set_grad(Tensor::full({4}, 4.0));
  const void* b_buffer = ps.b.grad().raw_data();
  auto list = ps.list();
  clip_grad_norm(list, 1.0);
  EXPECT_NEAR(grad_norm(list), 1.0, 1e-5);
  EXPECT_EQ(shared.to_vector(), std::vector<float>(12, 3.0f));  // untouched
  EXPECT_NE(ps.w.grad().raw_data(), shared.raw_data());         // w's gradient is a scaled copy
  EXPECT_EQ(ps.b.grad().raw_data(), b_buffer);                  // b's was scaled in place
}

// set_grad_scale(clip_grad_scale(norm, max)) then step() is clip_grad_norm then step(), bit for bit,
// for AdamW and SGD; the gradients stay unscaled and the scale lasts one step.
TEST(Optim, GradScaleIsClippingWithoutTouchingTheGradients) {
  for (bool adamw : {true, false}) {
    SCOPED_TRACE(adamw ? "AdamW" : "SGD");
    Params clipped, folded;
    auto make = [&](Params& ps) -> std::unique_ptr<Optimizer> {
      if (adamw) return std::make_unique<AdamW>(ps.list(), AdamWConfig{.lr = 0.1, .weight_decay = 0.1});
      return std::make_unique<Sgd>(ps.list(), SgdConfig{.lr = 0.1, .momentum = 0.9});
    };
    auto a = make(clipped), b = make(folded);
    for (int step = 0; step < 4; ++step) {
      for (Params* ps : {&clipped, &folded}) {
        ps->w.set_grad(grads(ps->w.shape(), step));
        ps->b.set_grad(grads(ps->b.shape(), step));
      }
      const double max_norm = step == 2 ? 100.0 : 0.5;  // step 2: no clipping
      auto la = clipped.list(), lb = folded.list();
      const double norm = clip_grad_norm(la, max_norm);
      EXPECT_EQ(grad_norm(lb), norm);
      const double scale = clip_grad_scale(grad_norm(lb), max_norm);
      EXPECT_EQ(scale, step == 2 ? 1.0 : max_norm / (norm + 1e-6));
      if (scale != 1.0) b->set_grad_scale(scale);  // step 2 relies on the previous scale having lapsed
      a->step();
      b->step();
      EXPECT_EQ(folded.w.grad().to_vector(), grads(folded.w.shape(), step).to_vector());  // untouched
      EXPECT_EQ(clipped.w.to_vector(), folded.w.to_vector()) << "step " << step;
      EXPECT_EQ(clipped.b.to_vector(), folded.b.to_vector()) << "step " << step;
    }
  }
  EXPECT_EQ(clip_grad_scale(NAN, 1.0), 1.0);
  EXPECT_EQ(clip_grad_scale(INFINITY, 1.0), 1.0);
}

TEST(Optim, Schedules) {
  WarmupCosine wc({.base_lr = 1.0, .min_lr = 0.1, .warmup_steps = 10, .total_steps = 110});
  EXPECT_NEAR(wc.lr(0), 0.1, 1e-12);
  EXPECT_NEAR(wc.lr(9), 1.0, 1e-12);
  EXPECT_NEAR(wc.lr(10), 1.0, 1e-12);
  EXPECT_NEAR(wc.lr(60), 0.55, 1e-12);  // half way down the cosine
  EXPECT_NEAR(wc.lr(110), 0.1, 1e-12);
  EXPECT_NEAR(wc.lr(1000), 0.1, 1e-12);
  for (int64_t s = 10; s < 110; ++s) EXPECT_LE(wc.lr(s + 1), wc.lr(s) + 1e-15);
  EXPECT_THROW(WarmupCosine({.warmup_steps = 5, .total_steps = 2}), ConfigError);
  InverseSqrt is({.base_lr = 1.0, .warmup_steps = 4000});
  EXPECT_NEAR(is.lr(3999), 1.0 / std::sqrt(4000.0), 1e-12);  // the peak
  EXPECT_LT(is.lr(100), is.lr(3999));
  EXPECT_LT(is.lr(10000), is.lr(3999));
  EXPECT_NEAR(is.lr(15999), 1.0 / std::sqrt(16000.0), 1e-12);
}

}  // namespace
}  // namespace attn
