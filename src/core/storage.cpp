// core/storage.cpp — aligned allocation and borrowed (mmap-owned) blocks.
#include <attn/tensor.h>

#include <cstdlib>
#include <new>

namespace attn {

namespace {
constexpr size_t kAlignment = 64;
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes) {
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<Storage>(new Storage(p, bytes, true, nullptr));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t bytes, std::shared_ptr<const void> owner) {
  return std::shared_ptr<Storage>(new Storage(data, bytes, false, std::move(owner)));
}

Storage::~Storage() {
  if (owned_) std::free(data_);
}

}  // namespace attn
