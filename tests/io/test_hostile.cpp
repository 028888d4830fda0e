// tests/io/test_hostile.cpp — every malformed file under tests/hostile/{safetensors,gguf} (made by
// scripts/make_io_fixtures.py, listed in expected.tsv) must be rejected with a FormatError that
// names the file, the field and the bad value, and the reader may allocate no more than a small
// multiple of the file's size plus a constant while finding out.
#include <attn/gguf.h>
#include <attn/safetensors.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <functional>

#include <fmt/format.h>

#include "io/io_test_util.h"

using namespace attn;

namespace {

struct HostileCase {
  std::string file, field, value;
};

std::vector<HostileCase> load_manifest(const std::string& format) {
  const std::string dir = std::string(ATTN_SOURCE_DIR) + "/tests/hostile/" + format + "/";
  std::ifstream in(dir + "expected.tsv");
  std::vector<HostileCase> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    HostileCase c;
    std::getline(ss, c.file, '\t');
    std::getline(ss, c.field, '\t');
    std::getline(ss, c.value, '\t');
    c.file = dir + c.file;
    out.push_back(c);
  }
  return out;
}

template <class Open>
void check_all(const std::string& format, Open open) {
  const auto cases = load_manifest(format);
  ASSERT_GE(cases.size(), 30u) << "tests/hostile/" << format << "/expected.tsv";
  constexpr uint64_t kSlackBytes = 256 * 1024;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const uint64_t file_size = std::filesystem::file_size(c.file);
    std::string what;
    uint64_t allocated = 0;
    try {
      io_test::AllocCounter counter;
      try {
        open(c.file);
      } catch (...) {
        allocated = counter.bytes();
        throw;
      }
      ADD_FAILURE() << "accepted a malformed file";
      continue;
    } catch (const FormatError& e) {
      what = e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type: " << e.what();
      continue;
    }
    EXPECT_NE(what.find(c.file), std::string::npos) << what;
    EXPECT_NE(what.find(": " + c.field), std::string::npos) << "field '" << c.field << "' in: " << what;
    EXPECT_NE(what.find(c.value), std::string::npos) << "value '" << c.value << "' in: " << what;
    EXPECT_LE(allocated, 16 * file_size + kSlackBytes) << what;
  }
}

}  // namespace

TEST(HostileFiles, SafetensorsAreRejectedNamingFileFieldAndValue) {
  check_all("safetensors", [](const std::string& p) { SafetensorsFile::open(p); });
}

TEST(HostileFiles, GgufAreRejectedNamingFileFieldAndValue) {
  check_all("gguf", [](const std::string& p) { GgufFile::open(p); });
}

// Every single-byte truncation of a valid file is rejected cleanly (never a crash or a pass).
TEST(HostileFiles, EveryTruncationOfValidFilesIsAFormatError) {
  auto dir = io_test::temp_dir("trunc");
  const std::string st_path = io_test::golden("st_roundtrip.safetensors");
  const std::string gg_path = io_test::golden("dequant.gguf");
  for (const auto& [src, is_gguf] : {std::pair{st_path, false}, std::pair{gg_path, true}}) {
    const auto bytes = io_test::read_bytes(src);
    const std::string cut = (dir / "cut.bin").string();
    // GGUF may end with padding after the last tensor: only cuts before the last tensor's end fail.
    size_t end = bytes.size();
    if (is_gguf) {
      auto g = GgufFile::open(src);
      end = 0;
      for (const auto& t : g.tensors()) end = std::max<size_t>(end, g.data_offset() + t.offset + t.nbytes);
    }
    // Written once, then shrunk in place with truncate(2), longest cut first.
    io_test::write_bytes(cut, bytes);
    for (size_t len = end; len-- > 0;) {
      std::filesystem::resize_file(cut, len);
      if (is_gguf) EXPECT_THROW(GgufFile::open(cut), FormatError) << "length " << len;
      else EXPECT_THROW(SafetensorsFile::open(cut), FormatError) << "length " << len;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(HostileFiles, MissingFilesAreIoErrors) {
  EXPECT_THROW(SafetensorsFile::open("/nonexistent/x.safetensors"), IoError);
  EXPECT_THROW(GgufFile::open("/nonexistent/x.gguf"), IoError);
  EXPECT_THROW(GgufFile::open(ATTN_SOURCE_DIR), IoError);  // a directory
}

// Memory is bounded by a small multiple of the file size: a file packed with the smallest possible
// key/value pairs, strings, nested arrays or tensor infos makes the reader allocate at most 32x its
// size (each parsed object is larger than its encoding, but never unboundedly so).
TEST(HostileFiles, GgufMetadataMemoryIsBoundedByTheFileSize) {
  auto dir = io_test::temp_dir("gguf-mem");
  auto put = [](std::vector<uint8_t>& b, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto file_with = [&](uint64_t n_tensors, uint64_t n_kv, const std::function<void(std::vector<uint8_t>&, uint64_t)>& kv,
                       const std::function<void(std::vector<uint8_t>&, uint64_t)>& info) {
    std::vector<uint8_t> b = {'G', 'G', 'U', 'F'};
    put(b, 3, 4);
    put(b, n_tensors, 8);
    put(b, n_kv, 8);
    for (uint64_t i = 0; i < n_kv; ++i) kv(b, i);
    for (uint64_t i = 0; i < n_tensors; ++i) info(b, i);
    b.resize((b.size() + 31) / 32 * 32);  // the (empty) data section starts aligned
    return b;
  };
  auto key = [&](std::vector<uint8_t>& b, uint64_t i) {
    const std::string k = fmt::format("{}", i);
    put(b, k.size(), 8);
    b.insert(b.end(), k.begin(), k.end());
  };
  const auto none = [](std::vector<uint8_t>&, uint64_t) {};
  struct Shape_ {
    std::string name;
    std::vector<uint8_t> bytes;
  };
  std::vector<Shape_> files = {
      {"tiny_kvs", file_with(0, 20000, [&](auto& b, uint64_t i) { key(b, i); put(b, 0, 4); put(b, 7, 1); }, none)},
      {"empty_strings", file_with(0, 1, [&](auto& b, uint64_t i) {
         key(b, i); put(b, 9, 4); put(b, 8, 4); put(b, 20000, 8);
         for (int k = 0; k < 20000; ++k) put(b, 0, 8);
       }, none)},
      {"empty_nested_arrays", file_with(0, 1, [&](auto& b, uint64_t i) {
         key(b, i); put(b, 9, 4); put(b, 9, 4); put(b, 20000, 8);
         for (int k = 0; k < 20000; ++k) { put(b, 0, 4); put(b, 0, 8); }
       }, none)},
      {"tiny_tensor_infos", file_with(5000, 0, none, [&](auto& b, uint64_t i) {
         key(b, i); put(b, 1, 4); put(b, 0, 8); put(b, 0, 4); put(b, 0, 8);
       })},
  };
  for (const auto& f : files) {
    const std::string path = (dir / (f.name + ".gguf")).string();
    io_test::write_bytes(path, f.bytes);
    io_test::AllocCounter counter;
    EXPECT_NO_THROW(GgufFile::open(path)) << f.name;
    EXPECT_LE(counter.bytes(), 32 * f.bytes.size()) << f.name << ": " << counter.bytes() << " bytes for a "
                                                    << f.bytes.size() << "-byte file";
  }
  std::filesystem::remove_all(dir);
}
