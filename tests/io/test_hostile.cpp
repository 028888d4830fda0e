// tests/io/test_hostile.cpp — every malformed file under tests/hostile/{safetensors,gguf} (made by
// scripts/make_io_fixtures.py, listed in expected.tsv) must be rejected with a FormatError that
// names the file, the field and the bad value, and the reader may allocate no more than a small
// multiple of the file's size plus a constant while finding out.
#include <attn/gguf.h>
#include <attn/safetensors.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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
