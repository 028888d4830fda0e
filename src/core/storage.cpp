// core/storage.cpp — owned blocks (through the host block cache, attn/allocator.h) and borrowed
// (mmap-owned) ones.
#include <attn/allocator.h>
#include <attn/tensor.h>

#include <new>

namespace attn {

std::shared_ptr<Storage> Storage::allocate(size_t bytes) {
  void* p = detail::host_alloc(bytes);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<Storage>(new Storage(p, bytes, true, nullptr));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t bytes, std::shared_ptr<const void> owner) {
  return std::shared_ptr<Storage>(new Storage(data, bytes, false, std::move(owner)));
}

Storage::~Storage() {
  if (owned_) detail::host_free(data_, bytes_);
}

}  // namespace attn
