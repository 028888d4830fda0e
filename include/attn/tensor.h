// attn/tensor.h — the n-dimensional array every layer passes around.
//
//   Tensor x = Tensor::zeros({2, 3});                 // f32, contiguous, 64-byte aligned
//   Tensor y = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
//   Tensor t = y.transpose(0, 1);                     // a view: [3,2], strides {1,3}
//   Tensor c = t.contiguous();                        // a copy in row-major order
//   float v = c.at<float>({2, 1});                    // 6
//
// A Tensor is a cheap handle: shape, strides (in elements), offset and a shared Storage. Views share
// storage; copies do not. Shapes are int64 vectors; strides may be 0 (broadcast) but never negative.
// Element-wise math lives in ops/, not here: core knows layout, not arithmetic.
#pragma once

#include <attn/dtype.h>
#include <attn/error.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace attn {

struct AutogradMeta;  // attn/autograd.h

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

// "[2,3,4]"
std::string shape_str(const Shape& s);
// Product of the sizes; throws ShapeError on a negative size or int64 overflow.
int64_t shape_numel(const Shape& s);
// Row-major strides for `s`.
Strides contiguous_strides(const Shape& s);
// Broadcast two shapes numpy-style; throws ShapeError naming both ("[2,3] and [4]").
Shape broadcast_shapes(const Shape& a, const Shape& b);

// A block of bytes, 64-byte aligned when attn allocated it, or borrowed from an owner (an mmap).
class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes);
  static std::shared_ptr<Storage> wrap(void* data, size_t bytes, std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  Storage(void* data, size_t bytes, bool owned, std::shared_ptr<const void> owner)
      : data_(data), bytes_(bytes), owned_(owned), owner_(std::move(owner)) {}
  void* data_;
  size_t bytes_;
  bool owned_;
  std::shared_ptr<const void> owner_;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  // ---- creation ----
  static Tensor empty(const Shape& shape, DType dtype = DType::kF32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::kF32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::kF32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape);
  static Tensor from_vector_i32(const std::vector<int32_t>& values, const Shape& shape);
  // Borrows `data` (kept alive by `owner`); the caller vouches for its size and alignment.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<const void> owner);
  // 0, 1, ..., n-1 as f32 (or i64).
  static Tensor arange(int64_t n, DType dtype = DType::kF32);

  // ---- properties ----
  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  // size(-1) is the last dimension; throws ShapeError when out of range.
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t numel() const { return numel_; }
  int64_t offset() const { return offset_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  // "f32[2,3]"
  std::string str() const;

  // ---- element access (checked dtype) ----
  template <class T> T* data() {
    check_dtype(DTypeOf<T>::value);
    return static_cast<T*>(raw_data());
  }
  template <class T> const T* data() const {
    check_dtype(DTypeOf<T>::value);
    return static_cast<const T*>(raw_data());
  }
  void* raw_data() const;
  // Reads one element as double / writes one element from double, any dtype; bounds-checked.
  double get(std::span<const int64_t> index) const;
  void set(std::span<const int64_t> index, double value);
  double get(std::initializer_list<int64_t> index) const { return get(std::span(index.begin(), index.size())); }
  void set(std::initializer_list<int64_t> index, double v) { set(std::span(index.begin(), index.size()), v); }
  template <class T> T at(std::initializer_list<int64_t> index) const { return static_cast<T>(get(index)); }
  // A single-element tensor's value.
  double item() const;
  // All elements in row-major order, converted to float / double.
  std::vector<float> to_vector() const;
  std::vector<double> to_vector_f64() const;

  // ---- views (share storage) ----
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const { return slice(dim, start, start + length); }
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  // Broadcast to `shape` with stride-0 dimensions (numpy rules; -1 keeps a size).
  Tensor expand(const Shape& shape) const;
  // A view when the layout allows, else throws ShapeError; one size may be -1.
  Tensor view(const Shape& shape) const;

  // ---- copies ----
  // reshape: a view when possible, a contiguous copy otherwise.
  Tensor reshape(const Shape& shape) const;
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  // Copies `src` (broadcast to this shape, any dtype) into this tensor's elements.
  void copy_from(const Tensor& src);
  void fill(double value);

  // ---- autograd (see attn/autograd.h) ----
  // A leaf that requires grad collects d(loss)/d(this) in grad() when backward() runs. Ops and views
  // applied to tensors that require grad record their backward while GradMode is on.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on = true);  // leaves only
  bool is_leaf() const;                       // made by the user, not recorded by an op
  Tensor grad() const;                        // undefined until a backward reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad() { set_grad(Tensor()); }
  Tensor detach() const;  // same storage and layout, no history
  const std::shared_ptr<AutogradMeta>& autograd_meta() const { return autograd_; }
  void set_autograd_meta(std::shared_ptr<AutogradMeta> meta) { autograd_ = std::move(meta); }

 private:
  // Clears the history copied from *this into a view and records the view's backward.
  Tensor finish_view(Tensor view, const char* name, std::function<Tensor(const Tensor&)> backward) const;
  void check_dtype(DType want) const;
  Shape resolve_view_shape(const Shape& shape) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Strides strides_;
  int64_t offset_ = 0;  // in elements
  int64_t numel_ = 0;
  DType dtype_ = DType::kF32;
  std::shared_ptr<AutogradMeta> autograd_;
};

// Visits every index of `shape` in row-major order (for reference code and tests, not kernels).
void for_each_index(const Shape& shape, const std::function<void(std::span<const int64_t>)>& fn);

}  // namespace attn
