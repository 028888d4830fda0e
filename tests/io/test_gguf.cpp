// tests/io/test_gguf.cpp — GGUF metadata of every type, v2 and v3, tensor infos, and each
// dequantiser against (a) the `gguf` Python package's dequantize on committed fixtures and (b) its
// float64 scalar reference twin on random blocks.
#include <attn/gguf.h>
#include <attn/rng.h>
#include <attn/safetensors.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "io/gguf_dequant.h"
#include "io/io_test_util.h"

using namespace attn;

namespace {

// Bitwise equality, with any NaN equal to any NaN.
void expect_same_floats(const float* a, const float* b, int64_t n, const std::string& what) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n && bad < 5; ++i) {
    const bool same = (std::isnan(a[i]) && std::isnan(b[i])) || std::memcmp(&a[i], &b[i], 4) == 0;
    if (!same) {
      ADD_FAILURE() << what << "[" << i << "]: " << a[i] << " vs " << b[i];
      ++bad;
    }
  }
}

}  // namespace

TEST(Gguf, ReadsEveryMetadataTypeAndNestedArrays) {
  auto g = GgufFile::open(io_test::golden("dequant.gguf"));
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.data_offset() % 32, 0u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_int("t.u8"), 200);
  EXPECT_EQ(g.get_int("t.i8"), -100);
  EXPECT_EQ(g.get_int("t.u16"), 60000);
  EXPECT_EQ(g.get_int("t.i16"), -30000);
  EXPECT_EQ(g.get_int("t.u32"), 4000000000LL);
  EXPECT_EQ(g.get_int("t.i32"), -2000000000LL);
  EXPECT_EQ(g.get_float("t.f32"), 0.15625);
  EXPECT_TRUE(g.get_bool("t.bool"));
  EXPECT_EQ(g.get_string("t.string"), "héllo ✓");
  EXPECT_EQ(g.find("t.u64")->u, (1ull << 63) + 5);
  EXPECT_THROW(g.get_int("t.u64"), FormatError);  // does not fit int64
  EXPECT_EQ(g.get_int("t.i64"), -(1LL << 62));
  EXPECT_DOUBLE_EQ(g.get_float("t.f64"), 1.0 / 3.0);
  EXPECT_EQ(g.get_array("t.arr_i32").to_i64(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(g.get_strings("t.arr_str"), (std::vector<std::string>{"a", "", "ß"}));
  EXPECT_EQ(g.get_array("t.arr_f32").to_f32(), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(g.get_array("t.arr_bool").to_i64(), (std::vector<int64_t>{1, 0, 1}));
  const GgufArray& nested = g.get_array("t.arr_nested");
  ASSERT_EQ(nested.type, GgufType::kArray);
  ASSERT_EQ(nested.arrays.size(), 3u);
  EXPECT_EQ(nested.arrays[2].to_i64(), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(g.find("t.arr_nested")->summary(), "[array x 3: [i32 x 2: 1, 2], [i32 x 1: 3], [i32 x 3: 4, 5, 6]]");
  // Typed getters name the key and the actual type.
  try {
    g.get_string("t.u8");
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("kv 't.u8': has type u8, expected string"), std::string::npos) << e.what();
  }
  EXPECT_THROW(g.get_strings("t.arr_i32"), FormatError);
  EXPECT_THROW(g.get_int("no.such.key"), ValueError);
  EXPECT_EQ(g.get_int_or("no.such.key", -1), -1);
  EXPECT_EQ(g.get_string_or("general.architecture", "x"), "llama");
}

TEST(Gguf, TensorInfosAreRowMajorShapes) {
  auto g = GgufFile::open(io_test::golden("dequant.gguf"));
  ASSERT_EQ(g.tensors().size(), 8u);
  const auto& q = g.tensor_info("w.q4_k");
  EXPECT_EQ(q.type, GgmlType::kQ4_K);
  EXPECT_EQ(q.ne, (std::vector<uint64_t>{512, 3}));
  EXPECT_EQ(q.shape, (Shape{3, 512}));
  EXPECT_EQ(q.nbytes, 3u * 2 * 144);
  EXPECT_EQ(g.tensor_info("w.f16").shape, (Shape{2, 2, 10}));
  EXPECT_EQ(g.tensor("w.f16").dtype(), DType::kF16);
  EXPECT_THROW(g.tensor("w.q8_0"), ValueError);
  EXPECT_THROW(g.tensor_info("nope"), ValueError);
}

TEST(Gguf, DequantisationMatchesTheGgufPythonPackage) {
  auto g = GgufFile::open(io_test::golden("dequant.gguf"));
  auto want = SafetensorsFile::open(io_test::golden("dequant_expected.safetensors"));
  for (const auto& t : g.tensors()) {
    SCOPED_TRACE(t.name);
    Tensor got = g.tensor_f32(t.name);
    Tensor exp = want.tensor(t.name);
    ASSERT_EQ(got.shape(), exp.shape());
    const auto gv = got.contiguous().to_vector(), ev = exp.to_vector();
    expect_same_floats(gv.data(), ev.data(), static_cast<int64_t>(gv.size()), t.name);
  }
}

TEST(Gguf, Version2ReadsTheSameAsVersion3) {
  auto g3 = GgufFile::open(io_test::golden("dequant.gguf"));
  auto g2 = GgufFile::open(io_test::golden("dequant.v2.gguf"));
  EXPECT_EQ(g2.version(), 2u);
  ASSERT_EQ(g2.metadata().size(), g3.metadata().size());
  for (size_t i = 0; i < g3.metadata().size(); ++i) {
    EXPECT_EQ(g2.metadata()[i].key, g3.metadata()[i].key);
    EXPECT_EQ(g2.metadata()[i].value.summary(100), g3.metadata()[i].value.summary(100));
  }
  EXPECT_EQ(g2.tensor_f32("w.q6_k").to_vector(), g3.tensor_f32("w.q6_k").to_vector());
}

// The fast dequantisers equal their float64 reference twins on random blocks, including random
// (possibly NaN/Inf/subnormal) fp16 scales.
TEST(Gguf, FastDequantisersMatchTheirReferenceTwins) {
  std::mt19937_64 rng(42);
  const GgmlType types[] = {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                            GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ4_K, GgmlType::kQ6_K};
  for (GgmlType t : types) {
    SCOPED_TRACE(std::string(ggml_type_name(t)));
    const int64_t n = 256 * 37;  // 37 super-blocks; enough to cross the threading grain for small types
    const uint64_t bytes = n / ggml_block_size(t) * ggml_type_size(t);
    std::vector<uint8_t> src(bytes);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    std::vector<float> fast(n), ref(n);
    ASSERT_TRUE(ggml_dequantize(t, src.data(), fast.data(), n));
    ASSERT_TRUE(io_detail::ggml_dequantize_ref(t, src.data(), ref.data(), n));
    expect_same_floats(fast.data(), ref.data(), n, std::string(ggml_type_name(t)));
  }
  std::vector<float> out(32);
  std::vector<uint8_t> src(64);
  EXPECT_FALSE(ggml_dequantize(GgmlType::kQ5_0, src.data(), out.data(), 32));
}

TEST(Gguf, HandDecodedBlocksGiveKnownValues) {
  // Q4_0: d = 0.5 (fp16 0x3800), nibbles 0..15 -> (q - 8) * 0.5.
  uint8_t q40[18] = {0x00, 0x38};
  for (int j = 0; j < 16; ++j) q40[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  ASSERT_TRUE(ggml_dequantize(GgmlType::kQ4_0, q40, y, 32));
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f);
    EXPECT_EQ(y[j + 16], (15 - j - 8) * 0.5f);
  }
  // Q8_0: d = 2 (0x4000), q = -3 -> -6.
  uint8_t q80[34] = {0x00, 0x40};
  std::memset(q80 + 2, 0xFD, 32);
  ASSERT_TRUE(ggml_dequantize(GgmlType::kQ8_0, q80, y, 32));
  EXPECT_EQ(y[31], -6.0f);
}

// A hand-built v3 file with general.alignment = 64: the data section and tensor offsets follow it.
TEST(Gguf, NonDefaultAlignmentPlacesTheDataSection) {
  std::vector<uint8_t> b = {'G', 'G', 'U', 'F'};
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto str = [&](const std::string& s) {
    put(s.size(), 8);
    b.insert(b.end(), s.begin(), s.end());
  };
  put(3, 4);
  put(2, 8);  // tensors
  put(1, 8);  // kv
  str("general.alignment");
  put(4, 4);
  put(64, 4);
  for (const auto& [name, offset] : {std::pair{"a", 0}, std::pair{"b", 64}}) {
    str(name);
    put(1, 4);
    put(3, 8);  // ne[0] = 3 f32
    put(0, 4);
    put(offset, 8);
  }
  b.resize((b.size() + 63) / 64 * 64);
  const size_t data = b.size();
  b.resize(data + 64 + 12);
  const float a[3] = {1, 2, 3}, c[3] = {-4, 5.5f, 6};
  std::memcpy(b.data() + data, a, 12);
  std::memcpy(b.data() + data + 64, c, 12);
  auto dir = io_test::temp_dir("gguf-align");
  const std::string path = (dir / "a64.gguf").string();
  io_test::write_bytes(path, b);
  auto g = GgufFile::open(path);
  EXPECT_EQ(g.alignment(), 64u);
  EXPECT_EQ(g.data_offset(), data);
  EXPECT_EQ(g.tensor("a").to_vector(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(g.tensor_f32("b").to_vector(), (std::vector<float>{-4, 5.5f, 6}));
  std::filesystem::remove_all(dir);
}
