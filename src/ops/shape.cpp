// ops/shape.cpp — concat (copies), split / chunk (views, one autograd node), transpose_last2 (view).
// Any dtype.
#include <attn/ops.h>

#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {
using namespace ops_detail;

Tensor concat_forward(const std::vector<Tensor>& xs, int64_t dim);

// Backward: each input gets its own slab of the gradient back.
Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = no_grad([&] { return concat_forward(xs, dim); });
  if (!autograd::needs_grad(xs)) return y;
  std::vector<int64_t> sizes;
  const int64_t d = normalize_dim("concat", xs[0], dim);
  for (const Tensor& x : xs) sizes.push_back(x.size(d));
  autograd::record("concat", xs, {&y}, [sizes, d](const Grads& g, const Needs& n) {
    Grads out(sizes.size());
    int64_t offset = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (n[i]) out[i] = g[0].narrow(d, offset, sizes[i]).contiguous();
      offset += sizes[i];
    }
    return out;
  });
  return y;
}

namespace {
// When xs are the consecutive slices along d of one contiguous tensor of out_shape (the gradients of
// a fused q/k/v projection's heads, written so by the attention backward), that tensor, uncopied;
// else undefined.
Tensor adjacent_slices_whole(const std::vector<Tensor>& xs, int64_t d, const Shape& out_shape) {
  const Tensor& first = xs[0];
  int64_t next = first.defined() ? first.offset() : 0;
  for (const Tensor& x : xs) {
    if (!x.defined() || x.storage() != first.storage() || x.strides() != first.strides() || x.offset() != next)
      return Tensor();
    next += x.size(d) * x.stride(d);
  }
  int64_t expect = 1;
  for (int64_t k = static_cast<int64_t>(out_shape.size()) - 1; k >= 0; --k) {
    if (out_shape[static_cast<size_t>(k)] != 1 && first.stride(k) != expect) return Tensor();
    expect *= out_shape[static_cast<size_t>(k)];
  }
  if (expect == 0) return Tensor();
  return Tensor::from_blob(first.raw_data(), out_shape, first.dtype(), first.storage());
}
}  // namespace

Tensor concat_forward(const std::vector<Tensor>& xs, int64_t dim) {
  ATTN_CHECK(!xs.empty(), ShapeError, "concat: no tensors given");
  const Tensor& first = xs[0];
  ATTN_CHECK(first.defined(), ShapeError, "concat: tensor 0 is undefined");
  const int64_t d = normalize_dim("concat", first, dim);
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    ATTN_CHECK(x.defined(), ShapeError, "concat: tensor {} is undefined", i);
    ATTN_CHECK(x.dtype() == first.dtype(), ShapeError, "concat: tensor {} is {} but tensor 0 is {}", i, x.str(),
               first.str());
    bool fits = x.dim() == first.dim();
    for (int64_t k = 0; fits && k < x.dim(); ++k) fits = k == d || x.size(k) == first.size(k);
    ATTN_CHECK(fits, ShapeError, "concat: tensor {} {} and tensor 0 {} differ outside dim {}", i,
               shape_str(x.shape()), shape_str(first.shape()), d);
    out_shape[d] += x.size(d);
  }
  Tensor y = Tensor::empty(out_shape, first.dtype());
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    if (x.size(d) > 0) {
      Tensor dst = y.narrow(d, offset, x.size(d));
      dst.copy_from(x);
    }
    offset += x.size(d);
  }
  return y;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const int64_t d = normalize_dim("split", x, dim);
  int64_t total = 0;
  for (int64_t s : sizes) {
    ATTN_CHECK(s >= 0, ShapeError, "split: negative size {} for {}", s, x.str());
    total += s;
  }
  ATTN_CHECK(total == x.size(d), ShapeError, "split: sizes sum to {} but dim {} of {} has {}", total, d, x.str(),
             x.size(d));
  std::vector<Tensor> out;
  {
    NoGradGuard one_node;  // the narrows are not recorded one by one: see the backward below
    int64_t offset = 0;
    for (int64_t s : sizes) {
      out.push_back(x.narrow(d, offset, s));
      offset += s;
    }
  }
  if (!autograd::needs_grad({&x})) return out;
  std::vector<Tensor*> outs;
  for (Tensor& t : out) outs.push_back(&t);
  // Backward: one node for every piece, the pieces' gradients concatenated back along dim — one
  // write of x's size, where a narrow per piece would each zero-fill a tensor of x's size, copy its
  // slab in, and the engine would then add those up.
  // When the pieces' gradients are already the adjacent slices of one buffer (the attention backward
  // writes a fused projection's dq, dk, dv so), that buffer is the gradient, uncopied.
  autograd::record("split", {x}, outs, [d, shape = x.shape()](const Grads& g, const Needs&) {
    if (Tensor whole = adjacent_slices_whole(g, d, shape); whole.defined()) return Grads{whole};
    return Grads{no_grad([&] { return concat_forward(g, d); })};
  });
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t dim) {
  ATTN_CHECK(n > 0, ShapeError, "chunk: number of chunks must be positive, got {} for {}", n, x.str());
  const int64_t d = normalize_dim("chunk", x, dim);
  const int64_t size = x.size(d), step = (size + n - 1) / n;
  std::vector<int64_t> sizes;
  for (int64_t off = 0; off < size; off += step) sizes.push_back(std::min(step, size - off));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, d);
}

Tensor transpose_last2(const Tensor& x) {
  ATTN_CHECK(x.dim() >= 2, ShapeError, "transpose_last2: x must have at least 2 dims, got {}", x.str());
  return x.transpose(x.dim() - 2, x.dim() - 1);
}

}  // namespace attn
