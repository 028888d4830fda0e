// autograd/gradcheck.cpp — finite-difference checking of recorded backward functions.
#include <attn/autograd.h>
#include <attn/gradcheck.h>
#include <attn/rng.h>

#include <cmath>

namespace attn {

namespace {

double weighted_sum(const Tensor& y, const std::vector<float>& w) {
  const std::vector<float> v = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += double(v[i]) * w[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                          const GradcheckOptions& opts) {
  Rng rng(opts.seed);
  std::vector<bool> diff(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    diff[i] = opts.differentiable.empty() ? dtype_is_float(inputs[i].dtype()) : opts.differentiable[i];
    inputs[i] = inputs[i].detach().contiguous().clone().detach();
    if (diff[i]) inputs[i].set_requires_grad();
  }
  // Analytic: backward of L = Σ f(x)·W.
  Tensor y = f(inputs);
  std::vector<float> w(static_cast<size_t>(y.numel()));
  for (float& x : w) x = rng.normal();
  Tensor wt = Tensor::from_vector(w, y.shape());
  ATTN_CHECK(y.requires_grad(), ValueError, "gradcheck: the output {} recorded no history", y.str());
  backward(y, wt);

  GradcheckResult res;
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!diff[i]) continue;
    const Tensor analytic = inputs[i].grad();
    ATTN_CHECK(analytic.defined(), ValueError, "gradcheck: input {} got no gradient", i);
    const std::vector<float> ga = analytic.to_vector();
    Tensor x = inputs[i].detach();
    float* p = x.data<float>();
    const int64_t n = x.numel();
    const int64_t stride = std::max<int64_t>(1, n / std::max<int64_t>(opts.max_elements, 1));
    for (int64_t e = 0; e < n; e += stride) {
      const float orig = p[e];
      auto at = [&](double delta) {
        p[e] = static_cast<float>(orig + delta);
        std::vector<Tensor> xs = inputs;
        xs[i] = x;
        for (auto& t : xs) t = t.detach();
        const double l = weighted_sum(f(xs), w);
        p[e] = orig;
        return l;
      };
      const double h = opts.eps;
      const double numeric = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
      const double err = std::fabs(ga[static_cast<size_t>(e)] - numeric);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (!(err <= opts.atol + opts.rtol * std::fabs(numeric))) {
        res.ok = false;
        res.report += fmt::format("input {} element {}: analytic {:.6g} numeric {:.6g}\n", i, e,
                                  ga[static_cast<size_t>(e)], numeric);
      }
    }
  }
  return res;
}

}  // namespace attn
