// tests/io/test_real_model.cpp — the real pretrained files that scripts/fetch-models.sh installs:
// all-MiniLM-L6-v2 (safetensors) and SmolLM2-135M-Instruct (Q4_1 GGUF). These tests FAIL, never
// skip, when the files are missing. Expected numbers come from the `safetensors` and `gguf` Python
// packages (see the comment at each).
#include <attn/gguf.h>
#include <attn/safetensors.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "io/gguf_dequant.h"
#include "io/io_test_util.h"

using namespace attn;

namespace {
double sum_f64(const Tensor& t) {
  Tensor c = t.contiguous();
  const float* p = c.data<float>();
  double s = 0;
  for (int64_t i = 0; i < c.numel(); ++i) s += p[i];
  return s;
}
}  // namespace

TEST(IoRealModel, MiniLmSafetensors) {
  REQUIRE_REAL_MODEL_FILE(path, "ATTN_MINILM_SAFETENSORS");
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f.tensors().size(), 104u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  Tensor w = f.tensor("embeddings.word_embeddings.weight");
  EXPECT_EQ(w.shape(), (Shape{30522, 384}));
  // safetensors.numpy.load_file: w[0,:4] and w.astype(float64).sum().
  EXPECT_EQ(w.at<float>({0, 0}), -0.019989013671875f);
  EXPECT_EQ(w.at<float>({0, 3}), 0.0117034912109375f);
  EXPECT_NEAR(sum_f64(w), 138.05072214923618, 1e-6);
  Tensor pos = f.tensor("embeddings.position_ids");
  EXPECT_EQ(pos.dtype(), DType::kI64);
  EXPECT_EQ(pos.at<int64_t>({0, 4}), 4);
}

TEST(IoRealModel, SmolLm2Gguf) {
  REQUIRE_REAL_MODEL_FILE(path, "ATTN_SMOLLM2_GGUF");
  auto g = GgufFile::open(path);
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_int("llama.block_count"), 30);
  EXPECT_EQ(g.get_int("llama.embedding_length"), 576);
  EXPECT_EQ(g.get_strings("tokenizer.ggml.tokens").size(), 49152u);
  EXPECT_EQ(g.get_strings("tokenizer.ggml.tokens")[1], "<|im_start|>");
  EXPECT_EQ(g.get_strings("tokenizer.ggml.merges").size(), 48900u);
  EXPECT_EQ(g.tensors().size(), 272u);
  // gguf.quants.dequantize(...): first values and float64 sums.
  Tensor q = g.tensor_f32("blk.0.attn_q.weight");  // q4_1
  EXPECT_EQ(q.shape(), (Shape{576, 576}));
  EXPECT_EQ(q.at<float>({0, 0}), -0.0963134765625f);
  EXPECT_EQ(q.at<float>({0, 3}), -0.73046875f);
  EXPECT_NEAR(sum_f64(q), 59.22322082519531, 1e-6);
  Tensor e = g.tensor_f32("token_embd.weight");  // q8_0
  EXPECT_EQ(e.shape(), (Shape{49152, 576}));
  EXPECT_EQ(e.at<float>({0, 1}), 0.032978057861328125f);
  EXPECT_NEAR(sum_f64(e), -15353.04449415207, 1e-3);
  // Every tensor of the file dequantises identically through the fast path and the reference twin.
  for (const auto& t : g.tensors()) {
    if (t.numel > 600'000) continue;  // the big embedding was checked above; keep the test quick
    Tensor fast = g.tensor_f32(t.name);
    std::vector<float> ref(t.numel);
    ASSERT_TRUE(io_detail::ggml_dequantize_ref(t.type, g.tensor_bytes(t.name).data(), ref.data(),
                                               static_cast<int64_t>(t.numel)));
    ASSERT_EQ(std::memcmp(fast.data<float>(), ref.data(), t.numel * 4), 0) << t.name;
  }
}
