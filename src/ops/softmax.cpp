// ops/softmax.cpp — softmax and log-softmax over any dim. The kernels work on contiguous rows, so
// a dim other than the last is moved last (one copy), processed, and moved back (one copy).
#include <attn/ops.h>

#include "kernels/softmax.h"
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

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_like("softmax", x, dim, kernels::softmax_rows); }
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_like("log_softmax", x, dim, kernels::log_softmax_rows);
}

}  // namespace attn
