// core/tensor.cpp — Tensor creation, views and copies. No arithmetic: that is ops/.
#include <attn/autograd.h>
#include <attn/tensor.h>
#include <attn/threads.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace attn {
namespace {

int64_t wrap_dim(int64_t d, int64_t rank, const char* what) {
  const int64_t w = d < 0 ? d + rank : d;
  ATTN_CHECK(w >= 0 && w < rank, ShapeError, "{}: dimension {} out of range for a {}-d tensor", what, d, rank);
  return w;
}

double load_as_double(const void* base, int64_t i, DType t) {
  switch (t) {
    case DType::kF32: return static_cast<const float*>(base)[i];
    case DType::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::kF16: return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::kI32: return static_cast<const int32_t*>(base)[i];
    case DType::kI64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
  }
  return 0;
}

void store_from_double(void* base, int64_t i, DType t, double v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DType::kBF16: static_cast<uint16_t*>(base)[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::kF16: static_cast<uint16_t*>(base)[i] = f32_to_f16(static_cast<float>(v)); break;
    case DType::kI32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
  }
}

// Copies src (already expanded to dst's shape) into contiguous dst, converting dtype if needed.
// Rows (all dims but the last) run in parallel; each row is a strided inner loop.
void strided_copy(const Tensor& src, void* dst, DType dst_type) {
  const Shape& shape = src.shape();
  const int64_t rank = src.dim();
  const int64_t inner = rank == 0 ? 1 : shape.back();
  const int64_t inner_stride = rank == 0 ? 0 : src.strides().back();
  const int64_t rows = inner == 0 ? 0 : src.numel() / inner;
  const char* src_base = static_cast<const char*>(src.storage()->data());
  const DType st = src.dtype();
  const size_t es = dtype_size(st);
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = src.offset(), rem = r;
      for (int64_t d = rank - 2; d >= 0; --d) {
        off += (rem % shape[d]) * src.strides()[d];
        rem /= shape[d];
      }
      const char* s = src_base + off * static_cast<int64_t>(es);
      if (st == dst_type) {
        char* o = static_cast<char*>(dst) + r * inner * static_cast<int64_t>(es);
        if (inner_stride == 1) {
          std::memcpy(o, s, static_cast<size_t>(inner) * es);
        } else {
          for (int64_t i = 0; i < inner; ++i) std::memcpy(o + i * es, s + i * inner_stride * es, es);
        }
      } else {
        for (int64_t i = 0; i < inner; ++i)
          store_from_double(dst, r * inner + i, dst_type, load_as_double(s, i * inner_stride, st));
      }
    }
  });
}

// Sums g (any layout) down to `shape`, the inverse of expand(): leading dimensions and dimensions of
// size 1 in `shape` are summed over, in row-major order of g (deterministic), accumulating in double.
Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Tensor gc = g.to(DType::kF32);
  const float* src = gc.data<float>();
  const size_t lead = g.shape().size() - shape.size();
  const int64_t rank = g.dim();
  Strides acc_strides(rank, 0);  // strides into the accumulator, 0 on summed dimensions
  const Strides in_strides = contiguous_strides(shape);
  for (size_t d = lead; d < static_cast<size_t>(rank); ++d)
    acc_strides[d] = shape[d - lead] == 1 ? 0 : in_strides[d - lead];
  std::vector<double> acc(static_cast<size_t>(shape_numel(shape)), 0.0);
  std::vector<int64_t> idx(rank, 0);
  int64_t pos = 0;
  const int64_t n = gc.numel();
  for (int64_t k = 0; k < n; ++k) {
    acc[static_cast<size_t>(pos)] += src[k];
    for (int64_t d = rank - 1; d >= 0; --d) {
      pos += acc_strides[d];
      if (++idx[d] < g.shape()[d]) break;
      pos -= acc_strides[d] * idx[d];
      idx[d] = 0;
    }
  }
  Tensor out = Tensor::empty(shape, DType::kF32);
  float* o = out.data<float>();
  for (size_t i = 0; i < acc.size(); ++i) o[i] = static_cast<float>(acc[i]);
  return g.dtype() == DType::kF32 ? out : out.to(g.dtype());
}

}  // namespace

// ---- creation ----

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  size_t bytes;
  ATTN_CHECK(!__builtin_mul_overflow(static_cast<size_t>(t.numel_), dtype_size(dtype), &bytes), ShapeError,
             "Tensor::empty: {} of {} overflows size_t", shape_str(shape), dtype_name(dtype));
  t.storage_ = Storage::allocate(bytes);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  Tensor t = empty(shape, DType::kF32);
  ATTN_CHECK(static_cast<int64_t>(values.size()) == t.numel(), ShapeError,
             "Tensor::from_vector: {} values for shape {} ({} elements)", values.size(), shape_str(shape), t.numel());
  std::memcpy(t.raw_data(), values.data(), t.nbytes());
  return t;
}

Tensor Tensor::from_vector_i64(const std::vector<int64_t>& values, const Shape& shape) {
  Tensor t = empty(shape, DType::kI64);
  ATTN_CHECK(static_cast<int64_t>(values.size()) == t.numel(), ShapeError,
             "Tensor::from_vector_i64: {} values for shape {} ({} elements)", values.size(), shape_str(shape),
             t.numel());
  std::memcpy(t.raw_data(), values.data(), t.nbytes());
  return t;
}

Tensor Tensor::from_vector_i32(const std::vector<int32_t>& values, const Shape& shape) {
  Tensor t = empty(shape, DType::kI32);
  ATTN_CHECK(static_cast<int64_t>(values.size()) == t.numel(), ShapeError,
             "Tensor::from_vector_i32: {} values for shape {} ({} elements)", values.size(), shape_str(shape),
             t.numel());
  std::memcpy(t.raw_data(), values.data(), t.nbytes());
  return t;
}

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<const void> owner) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.storage_ = Storage::wrap(data, static_cast<size_t>(t.numel_) * dtype_size(dtype), std::move(owner));
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) store_from_double(t.raw_data(), i, dtype, static_cast<double>(i));
  return t;
}

// ---- properties ----

int64_t Tensor::size(int64_t d) const { return shape_[wrap_dim(d, dim(), "Tensor::size")]; }
int64_t Tensor::stride(int64_t d) const { return strides_[wrap_dim(d, dim(), "Tensor::stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape_[d] != 1 && strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_str(shape_);
}

void* Tensor::raw_data() const {
  ATTN_CHECK(defined(), ValueError, "Tensor: use of an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

void Tensor::check_dtype(DType want) const {
  ATTN_CHECK(defined(), ValueError, "Tensor: use of an undefined tensor");
  ATTN_CHECK(dtype_ == want, ShapeError, "Tensor::data: tensor is {}, requested {}", str(), dtype_name(want));
}

// ---- element access ----

double Tensor::get(std::span<const int64_t> index) const {
  ATTN_CHECK(static_cast<int64_t>(index.size()) == dim(), ShapeError, "Tensor::get: {} indices for {}",
             index.size(), str());
  int64_t off = 0;
  for (int64_t d = 0; d < dim(); ++d) {
    ATTN_CHECK(index[d] >= 0 && index[d] < shape_[d], ShapeError, "Tensor::get: index {} out of range for dim {} of {}",
               index[d], d, str());
    off += index[d] * strides_[d];
  }
  return load_as_double(raw_data(), off, dtype_);
}

void Tensor::set(std::span<const int64_t> index, double value) {
  ATTN_CHECK(static_cast<int64_t>(index.size()) == dim(), ShapeError, "Tensor::set: {} indices for {}",
             index.size(), str());
  int64_t off = 0;
  for (int64_t d = 0; d < dim(); ++d) {
    ATTN_CHECK(index[d] >= 0 && index[d] < shape_[d], ShapeError, "Tensor::set: index {} out of range for dim {} of {}",
               index[d], d, str());
    off += index[d] * strides_[d];
  }
  store_from_double(raw_data(), off, dtype_, value);
}

double Tensor::item() const {
  ATTN_CHECK(numel_ == 1, ShapeError, "Tensor::item: needs exactly one element, tensor is {}", str());
  return load_as_double(raw_data(), 0, dtype_);
}

std::vector<float> Tensor::to_vector() const {
  Tensor c = to(DType::kF32);
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

std::vector<double> Tensor::to_vector_f64() const {
  Tensor c = contiguous();
  std::vector<double> out(static_cast<size_t>(c.numel()));
  for (int64_t i = 0; i < c.numel(); ++i) out[static_cast<size_t>(i)] = load_as_double(c.raw_data(), i, dtype_);
  return out;
}

// ---- views ----

Tensor Tensor::slice(int64_t dim_, int64_t start, int64_t end, int64_t step) const {
  const int64_t d = wrap_dim(dim_, dim(), "Tensor::slice");
  ATTN_CHECK(step > 0, ValueError, "Tensor::slice: step must be positive, got {}", step);
  const int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = (end - start + step - 1) / step;
  t.strides_[d] *= step;
  t.numel_ = shape_numel(t.shape_);
  return finish_view(t, "slice", [in = shape_, d, start, end, step](const Tensor& g) {
    Tensor z = Tensor::zeros(in, g.dtype());
    z.slice(d, start, end, step).copy_from(g);
    return z;
  });
}

Tensor Tensor::select(int64_t dim_, int64_t index) const {
  const int64_t d = wrap_dim(dim_, dim(), "Tensor::select");
  const int64_t i = index < 0 ? index + shape_[d] : index;
  ATTN_CHECK(i >= 0 && i < shape_[d], ShapeError, "Tensor::select: index {} out of range for dim {} of {}", index, d,
             str());
  Tensor t = *this;
  t.offset_ += i * strides_[d];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  t.numel_ = shape_numel(t.shape_);
  return finish_view(t, "select", [in = shape_, d, i](const Tensor& g) {
    Tensor z = Tensor::zeros(in, g.dtype());
    z.select(d, i).copy_from(g);
    return z;
  });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  const int64_t a = wrap_dim(d0, dim(), "Tensor::transpose"), b = wrap_dim(d1, dim(), "Tensor::transpose");
  Tensor t = *this;
  std::swap(t.shape_[a], t.shape_[b]);
  std::swap(t.strides_[a], t.strides_[b]);
  return finish_view(t, "transpose", [a, b](const Tensor& g) { return g.transpose(a, b); });
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  ATTN_CHECK(static_cast<int64_t>(order.size()) == dim(), ShapeError, "Tensor::permute: {} dims given for {}",
             order.size(), str());
  std::vector<bool> seen(order.size(), false);
  std::vector<int64_t> inverse(order.size());
  Tensor t = *this;
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t d = wrap_dim(order[i], dim(), "Tensor::permute");
    ATTN_CHECK(!seen[d], ShapeError, "Tensor::permute: dimension {} repeated", d);
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
    inverse[static_cast<size_t>(d)] = static_cast<int64_t>(i);
  }
  return finish_view(t, "permute", [inverse](const Tensor& g) { return g.permute(inverse); });
}

Tensor Tensor::unsqueeze(int64_t dim_) const {
  const int64_t d = wrap_dim(dim_, dim() + 1, "Tensor::unsqueeze");
  Tensor t = *this;
  const int64_t st = d < dim() ? strides_[d] * shape_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, st);
  return finish_view(t, "unsqueeze", [d](const Tensor& g) { return g.squeeze(d); });
}

Tensor Tensor::squeeze(int64_t dim_) const {
  const int64_t d = wrap_dim(dim_, dim(), "Tensor::squeeze");
  ATTN_CHECK(shape_[d] == 1, ShapeError, "Tensor::squeeze: dimension {} of {} is not 1", d, str());
  Tensor t = *this;
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return finish_view(t, "squeeze", [d](const Tensor& g) { return g.unsqueeze(d); });
}

Tensor Tensor::expand(const Shape& shape) const {
  ATTN_CHECK(shape.size() >= shape_.size(), ShapeError, "Tensor::expand: cannot expand {} to {}", str(),
             shape_str(shape));
  const size_t lead = shape.size() - shape_.size();
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_.assign(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      ATTN_CHECK(shape[i] >= 0, ShapeError, "Tensor::expand: cannot expand {} to {}", str(), shape_str(shape));
      continue;
    }
    const int64_t have = shape_[i - lead];
    const int64_t want = shape[i] == -1 ? have : shape[i];
    ATTN_CHECK(have == want || have == 1, ShapeError, "Tensor::expand: cannot expand {} to {}", str(),
               shape_str(shape));
    t.shape_[i] = want;
    t.strides_[i] = have == want ? strides_[i - lead] : 0;
  }
  t.numel_ = shape_numel(t.shape_);
  return finish_view(t, "expand", [in = shape_](const Tensor& g) { return sum_to_shape(g, in); });
}

Shape Tensor::resolve_view_shape(const Shape& shape) const {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      ATTN_CHECK(infer < 0, ShapeError, "reshape {}: more than one -1 in {}", str(), shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      ATTN_CHECK(out[i] >= 0, ShapeError, "reshape {}: negative size in {}", str(), shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    ATTN_CHECK(known > 0 && numel_ % known == 0, ShapeError, "reshape {} to {}: sizes do not divide", str(),
               shape_str(shape));
    out[infer] = numel_ / known;
  }
  ATTN_CHECK(shape_numel(out) == numel_, ShapeError, "reshape {} to {}: element counts differ ({} vs {})", str(),
             shape_str(shape), numel_, shape_numel(out));
  return out;
}

Tensor Tensor::view(const Shape& shape) const {
  const Shape target = resolve_view_shape(shape);
  ATTN_CHECK(is_contiguous(), ShapeError, "Tensor::view: {} is not contiguous; use reshape() to copy", str());
  Tensor t = *this;
  t.shape_ = target;
  t.strides_ = contiguous_strides(target);
  return finish_view(t, "view", [in = shape_](const Tensor& g) { return g.reshape(in); });
}

// ---- copies ----

Tensor Tensor::reshape(const Shape& shape) const {
  if (is_contiguous()) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  strided_copy(*this, t.raw_data(), dtype_);
  return finish_view(t, "clone", [](const Tensor& g) { return g; });
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return contiguous();
  Tensor t = empty(shape_, dtype);
  strided_copy(*this, t.raw_data(), dtype);
  return finish_view(t, "to", [from = dtype_](const Tensor& g) { return g.to(from); });
}

void Tensor::copy_from(const Tensor& src) {
  ATTN_CHECK(is_leaf() || !GradMode::enabled(), ValueError,
             "copy_from: {} was made by {}; writing into it in place would break its backward", str(),
             autograd_->grad_fn->name());
  const Tensor s = src.detach().expand(shape_);
  if (is_contiguous()) {
    strided_copy(s, raw_data(), dtype_);
    return;
  }
  const int64_t n = dim();
  if (n > 0 && s.dtype() == dtype_ && strides_[n - 1] == 1 && s.stride(n - 1) == 1 && numel_ > 0 &&
      s.storage() != storage_) {
    // Rows of unit stride on both sides (a slice of a wider buffer, heads written back into a fused
    // projection's gradient): one memcpy per row. Not when src shares this storage (it may overlap).
    const size_t esize = dtype_size(dtype_);
    const Shape outer(shape_.begin(), shape_.end() - 1);
    char* dst = static_cast<char*>(raw_data());
    const char* from = static_cast<const char*>(s.raw_data());
    for_each_index(outer, [&](std::span<const int64_t> idx) {
      int64_t od = 0, os = 0;
      for (size_t d = 0; d < idx.size(); ++d) od += idx[d] * strides_[d], os += idx[d] * s.stride(d);
      std::memcpy(dst + od * static_cast<int64_t>(esize), from + os * static_cast<int64_t>(esize),
                  static_cast<size_t>(shape_[n - 1]) * esize);
    });
    return;
  }
  Tensor tmp = empty(shape_, dtype_);
  strided_copy(s, tmp.raw_data(), dtype_);
  int64_t k = 0;
  for_each_index(shape_, [&](std::span<const int64_t> idx) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides_[d];
    std::memcpy(static_cast<char*>(raw_data()) + off * static_cast<int64_t>(dtype_size(dtype_)),
                static_cast<char*>(tmp.raw_data()) + k++ * static_cast<int64_t>(dtype_size(dtype_)),
                dtype_size(dtype_));
  });
}

void Tensor::fill(double value) {
  Tensor one = empty({}, dtype_);  // 0-d: expands to any shape, 0-d included
  store_from_double(one.raw_data(), 0, dtype_, value);
  copy_from(one);
}

}  // namespace attn
