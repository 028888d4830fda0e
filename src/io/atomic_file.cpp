// io/atomic_file.cpp — temp file + fsync + rename + directory fsync.
#include "io/atomic_file.h"

#include <attn/error.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace attn {
namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening directories
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void AtomicWriter::write(std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    ATTN_CHECK(n > 0, IoError, "{}: write failed after {} bytes: {}", tmp_path_, written_,
               n < 0 ? std::strerror(errno) : "no progress");
    p += n;
    left -= static_cast<size_t>(n);
    written_ += static_cast<size_t>(n);
  }
}

void write_file_atomic(const std::string& path, const std::function<void(AtomicWriter&)>& fill) {
  // 1. A unique temp file in the target's directory ("name.tmp.XXXXXX").
  std::vector<char> tmpl(path.begin(), path.end());
  const char suffix[] = ".tmp.XXXXXX";
  tmpl.insert(tmpl.end(), suffix, suffix + sizeof(suffix));
  int fd = ::mkstemp(tmpl.data());
  ATTN_CHECK(fd >= 0, IoError, "{}: cannot create a temp file in {}: {}", path, dir_of(path), std::strerror(errno));
  std::string tmp(tmpl.data());
  ::fchmod(fd, 0644);
  // 2. Contents, fsync, close; 3. rename over the target; 4. fsync the directory.
  try {
    AtomicWriter w(fd, tmp);
    fill(w);
    ATTN_CHECK(::fsync(fd) == 0, IoError, "{}: fsync failed: {}", tmp, std::strerror(errno));
    int rc = ::close(fd);
    fd = -1;
    ATTN_CHECK(rc == 0, IoError, "{}: close failed: {}", tmp, std::strerror(errno));
    ATTN_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, IoError, "{}: cannot rename {} over it: {}", path, tmp,
               std::strerror(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_dir(dir_of(path));
}

void write_file_atomic(const std::string& path, std::span<const std::byte> bytes) {
  write_file_atomic(path, [&](AtomicWriter& w) { w.write(bytes); });
}

}  // namespace attn
