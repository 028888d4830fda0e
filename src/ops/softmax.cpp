// ops/softmax.cpp — softmax and log-softmax over any dim. The kernels work on contiguous rows, so
// a dim other than the last is moved last (one copy), processed, and moved back (one copy).
#include <attn/ops.h>

#include "kernels/softmax.h"
#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {
namespace {
using namespace ops_detail;

template <class Kernel>
Tensor softmax_like(std::string_view name, const Tensor& x, int64_t dim, Kernel kernel) {
  check_f32(name, x);
  const int64_t d = x.dim() == 0 ? 0 : normalize_dim(name, x, dim);
  if (x.dim() == 0) {  // a single value: softmax over one element
    Tensor y = Tensor::empty({});
    const Tensor c = x.contiguous();
    kernel(fptr(c), fptr_mut(y), 1, 1);
    return y;
  }
  const bool last = d == x.dim() - 1;
  const Tensor moved = last ? x.contiguous() : x.transpose(d, x.dim() - 1).contiguous();
  Tensor y = Tensor::empty(moved.shape());
  const int64_t n = moved.size(-1);
  if (y.numel() > 0) kernel(fptr(moved), fptr_mut(y), y.numel() / n, n);
  return last ? y : y.transpose(d, x.dim() - 1).contiguous();
}

}  // namespace

// softmax: dx = y ∘ (g - Σ_dim g∘y);  log_softmax: dx = g - exp(y) ∘ Σ_dim g.
Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = no_grad([&] { return softmax_like("softmax", x, dim, kernels::softmax_rows); });
  if (autograd::needs_grad({&x}))
    autograd::record("softmax", {x}, {&y}, [dim, y = y.detach()](const Grads& g, const Needs&) {
      if (y.dim() == 0) return Grads{Tensor::zeros({})};
      return Grads{mul(y, sub(g[0], sum(mul(g[0], y), dim, true)))};
    });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = no_grad([&] { return softmax_like("log_softmax", x, dim, kernels::log_softmax_rows); });
  if (autograd::needs_grad({&x}))
    autograd::record("log_softmax", {x}, {&y}, [dim, y = y.detach()](const Grads& g, const Needs&) {
      if (y.dim() == 0) return Grads{Tensor::zeros({})};
      return Grads{sub(g[0], mul(exp(y), sum(g[0], dim, true)))};
    });
  return y;
}

}  // namespace attn
