// tests/io/test_safetensors.cpp — reading files the `safetensors` Python package wrote, writing
// byte-identical files, round trips, atomic replacement and sharded models.
#include <attn/safetensors.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "io/atomic_file.h"
#include "io/io_test_util.h"

using namespace attn;

namespace {

std::vector<std::pair<std::string, Tensor>> roundtrip_tensors() {
  std::vector<float> w(12);
  for (int i = 0; i < 12; ++i) w[i] = i * 0.125f;
  Tensor bias = Tensor::empty({2}, DType::kF16);
  bias.set({0}, 1.5);
  bias.set({1}, -2.0);
  return {{"weight", Tensor::from_vector(w, {3, 4})},
          {"bias", bias},
          {"ids", Tensor::from_vector_i64({1, 2, 3}, {3})},
          {"mask", Tensor::from_vector_i32({1, 0, 0, 1}, {2, 2})},
          {"a.b", Tensor::from_vector({3.0f}, {1})}};
}

}  // namespace

TEST(Safetensors, ReadsEveryDtypeThePythonPackageWrote) {
  auto f = SafetensorsFile::open(io_test::golden("st_python.safetensors"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "ünïcode ✓");
  EXPECT_EQ(f.tensors().size(), 11u);
  // f32 = arange(24).reshape(2,3,4) * 0.25 - 1, read as a view of the mapping.
  Tensor a = f.tensor("f32");
  EXPECT_EQ(a.shape(), (Shape{2, 3, 4}));
  auto v = a.to_vector();
  for (int i = 0; i < 24; ++i) EXPECT_EQ(v[i], i * 0.25f - 1);
  auto f16 = f.tensor("f16");
  EXPECT_EQ(f16.dtype(), DType::kF16);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f16.to_vector()[i], i * 0.5f);
  auto f64 = f.tensor_f32("f64").to_vector();
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(f64[i], static_cast<float>(i / 3.0));
  auto i64 = f.tensor("i64");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(i64.at<int64_t>({i}), i * -1000000007LL);
  auto i32 = f.tensor("i32").to_vector();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(i32[i], i - 3);
  auto i16 = f.tensor_f32("i16").to_vector();
  EXPECT_EQ(i16, (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(f.tensor_f32("i8").to_vector(), (std::vector<float>{-2, -1, 0, 1}));
  EXPECT_EQ(f.tensor_f32("u8").to_vector(), (std::vector<float>{0, 50, 100, 150, 200}));
  EXPECT_EQ(f.tensor_f32("bool").to_vector(), (std::vector<float>{1, 0, 1, 0}));
  EXPECT_EQ(f.entry("bool").dtype_name, "BOOL");
  EXPECT_EQ(f.tensor("scalar").dim(), 0);
  EXPECT_EQ(f.tensor("scalar").item(), 7.5);
  EXPECT_EQ(f.tensor("empty").shape(), (Shape{0, 3}));
  EXPECT_THROW(f.tensor("u8"), ValueError);      // no attn dtype: use tensor_f32
  EXPECT_THROW(f.tensor("missing"), ValueError);
}

TEST(Safetensors, WriterReproducesThePythonPackageByteForByte) {
  const auto want = io_test::read_bytes(io_test::golden("st_roundtrip.safetensors"));
  const auto got = serialize_safetensors(roundtrip_tensors(), {{"format", "pt"}});
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size()), 0)
      << std::string(reinterpret_cast<const char*>(got.data()) + 8, 200);
}

TEST(Safetensors, RoundTripKeepsValuesDtypesAndNonContiguousLayouts) {
  auto dir = io_test::temp_dir("st-rt");
  const std::string path = (dir / "m.safetensors").string();
  Tensor x = Tensor::arange(24).reshape({4, 6});
  Tensor xt = x.transpose(0, 1);  // non-contiguous: written in logical order
  Tensor b = x.to(DType::kBF16);
  save_safetensors(path, {{"xt", xt}, {"b", b}, {"empty", Tensor::zeros({0, 5})}}, {{"k", "v"}});
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f.header_size() % 8, 0u);
  EXPECT_EQ(f.metadata().at("k"), "v");
  EXPECT_EQ(f.tensor("xt").to_vector(), xt.contiguous().to_vector());
  EXPECT_EQ(f.tensor("b").dtype(), DType::kBF16);
  EXPECT_EQ(f.tensor_f32("b").to_vector(), b.to_vector());
  EXPECT_EQ(f.tensor("empty").shape(), (Shape{0, 5}));
  // A tensor borrowed from the mapping can be written to without touching the file.
  Tensor m = f.tensor("xt");
  m.set({0, 0}, 99.0);
  EXPECT_EQ(SafetensorsFile::open(path).tensor("xt").at<float>({0, 0}), 0.0f);
  std::filesystem::remove_all(dir);
}

TEST(Safetensors, WriterRejectsDuplicateAndReservedNames) {
  Tensor t = Tensor::zeros({1});
  EXPECT_THROW(serialize_safetensors({{"a", t}, {"a", t}}), ValueError);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", t}}), ValueError);
  EXPECT_THROW(serialize_safetensors({{std::string("\xff"), t}}), ValueError);
}

TEST(Safetensors, MisalignedTensorIsCopiedNotBorrowed) {
  // A header of odd length puts the f32 data at an odd address: the reader must copy.
  auto dir = io_test::temp_dir("st-mis");
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  h += " ";  // 57 bytes: data starts at 65
  std::vector<uint8_t> bytes(8);
  uint64_t n = h.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes.insert(bytes.end(), h.begin(), h.end());
  float vals[2] = {1.25f, -3.5f};
  bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(vals), reinterpret_cast<uint8_t*>(vals) + 8);
  const std::string path = (dir / "odd.safetensors").string();
  io_test::write_bytes(path, bytes);
  auto f = SafetensorsFile::open(path);
  Tensor t = f.tensor("a");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 4, 0u);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1.25f, -3.5f}));
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, FailureLeavesTheOldFileIntactAndNoTempFile) {
  auto dir = io_test::temp_dir("atomic");
  const std::string path = (dir / "ckpt.bin").string();
  write_file_atomic(path, std::as_bytes(std::span("old", 3)));
  EXPECT_THROW(write_file_atomic(path,
                                 [](AtomicWriter& w) {
                                   w.write("new contents", 12);
                                   throw IoError("disk full (simulated)");
                                 }),
               IoError);
  const auto b = io_test::read_bytes(path);
  EXPECT_EQ(std::string(b.begin(), b.end()), "old");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);  // the temp file is gone
  // A directory that does not exist: IoError naming the path, nothing created.
  EXPECT_THROW(write_file_atomic((dir / "no" / "such.bin").string(), std::as_bytes(std::span("x", 1))), IoError);
  write_file_atomic(path, std::as_bytes(std::span("new", 3)));
  const auto c = io_test::read_bytes(path);
  EXPECT_EQ(std::string(c.begin(), c.end()), "new");
  std::filesystem::remove_all(dir);
}

TEST(Safetensors, ShardedModelByIndex) {
  auto dir = io_test::temp_dir("shards");
  save_safetensors((dir / "model-00001-of-00002.safetensors").string(),
                   {{"a", Tensor::from_vector({1, 2}, {2})}, {"b", Tensor::from_vector({3}, {1})}});
  save_safetensors((dir / "model-00002-of-00002.safetensors").string(), {{"c", Tensor::from_vector({4, 5, 6}, {3})}});
  std::ofstream((dir / "model.safetensors.index.json").string())
      << R"({"metadata":{"total_size":24},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
      << R"("b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})";
  auto m = SafetensorsShards::open(dir.string());
  EXPECT_EQ(m.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(m.shards().size(), 2u);
  EXPECT_EQ(m.tensor("c").to_vector(), (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(m.tensor_f32("b").to_vector(), (std::vector<float>{3}));
  EXPECT_THROW(m.tensor("d"), ValueError);
  // A single file opens as a one-shard model.
  EXPECT_EQ(SafetensorsShards::open((dir / "model-00002-of-00002.safetensors").string()).names().size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Safetensors, ShardIndexErrorsNameTheField) {
  auto dir = io_test::temp_dir("shards-bad");
  save_safetensors((dir / "s1.safetensors").string(), {{"a", Tensor::zeros({1})}, {"b", Tensor::zeros({1})}});
  auto expect_error = [&](const std::string& json, const std::string& needle) {
    const std::string idx = (dir / "model.safetensors.index.json").string();
    std::ofstream(idx) << json;
    try {
      SafetensorsShards::open(idx);
      ADD_FAILURE() << "accepted " << json;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"weight_map":{"a":"../s1.safetensors"}})", "weight_map.a");
  expect_error(R"({"weight_map":{"a":"s1.safetensors","x":"s1.safetensors"}})", "has no tensor 'x'");
  expect_error(R"({"weight_map":{"a":"s1.safetensors"}})", "tensor 'b' of shard");
  expect_error(R"({"weight_map":{"a":5}})", "weight_map.a");
  expect_error(R"({"metadata":{}})", "weight_map");
  expect_error(R"({"weight_map":)", "invalid JSON");
  std::filesystem::remove_all(dir);
}
