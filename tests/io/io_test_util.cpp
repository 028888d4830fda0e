// tests/io/io_test_util.cpp — see io_test_util.h. Replaces the global operator new/delete of the
// test_io program with malloc/free plus a byte counter, so tests can bound what a reader allocates.
#include "io/io_test_util.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <new>
#include <unistd.h>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_bytes{0};

void* counted_alloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_bytes.fetch_add(n, std::memory_order_relaxed);
  void* p = std::malloc(n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(size_t n) { return counted_alloc(n); }
void* operator new[](size_t n) { return counted_alloc(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try { return counted_alloc(n); } catch (...) { return nullptr; }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try { return counted_alloc(n); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace io_test {

std::string golden(const std::string& name) { return std::string(ATTN_SOURCE_DIR) + "/tests/golden/io/" + name; }

std::filesystem::path temp_dir(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() / ("attn-io-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

AllocCounter::AllocCounter() {
  g_bytes = 0;
  g_counting = true;
}
AllocCounter::~AllocCounter() { g_counting = false; }
uint64_t AllocCounter::bytes() const { return g_bytes.load(); }

std::string real_model_path(const std::string& key) {
  const char* env = std::getenv("ATTN_MODEL_DIR");
  std::string dir = env ? env : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/attn/models";
  std::ifstream in(dir + "/paths.env");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

}  // namespace io_test
