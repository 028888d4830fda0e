// io/mapped_file.cpp — POSIX mmap of a whole file, private copy-on-write: a tensor that borrows the
// mapping may be written to without ever touching the file.
#include "io/mapped_file.h"

#include <attn/error.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace attn {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ATTN_CHECK(fd >= 0, IoError, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    ::close(fd);
    ATTN_CHECK(false, IoError, "{}: not a regular file ({})", path, err ? std::strerror(err) : "directory or device");
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = static_cast<uint64_t>(st.st_size);
#if defined(ATTN_FUZZ_HEAP_MAPPING)
  // Fuzz builds: an exact-size heap copy, so ASan reports any read past the end.
  if (m->size_ > 0) {
    auto* buf = new std::byte[m->size_];
    ssize_t got = ::pread(fd, buf, m->size_, 0);
    ::close(fd);
    if (got != static_cast<ssize_t>(m->size_)) {
      delete[] buf;
      ATTN_CHECK(false, IoError, "{}: short read", path);
    }
    m->data_ = buf;
  } else {
    ::close(fd);
  }
  return m;
#endif
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(m->size_), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    ATTN_CHECK(p != MAP_FAILED, IoError, "{}: cannot map {} bytes: {}", path, m->size_, std::strerror(err));
    m->data_ = static_cast<const std::byte*>(p);
  } else {
    ::close(fd);
  }
  return m;
}

MappedFile::~MappedFile() {
#if defined(ATTN_FUZZ_HEAP_MAPPING)
  delete[] data_;
#else
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), static_cast<size_t>(size_));
#endif
}

}  // namespace attn
