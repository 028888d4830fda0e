// tests/tokenizers/hf_config_test.cpp — config.json for BERT (the real MiniLM file), Llama (SmolLM2's
// values), GPT-2, Marian and T5; unknown and contradictory fields give ConfigError naming the field.
// (The reader lives in io; its tests sit with the tokenizers that read the same model folders.)
#include <attn/error.h>
#include <attn/hf_config.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "tokenizers/tok_test_util.h"

namespace attn {
namespace {

constexpr const char* kSmolLm2 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576,
  "initializer_range": 0.041666666666666664, "intermediate_size": 1536, "is_llama_config": true,
  "max_position_embeddings": 8192, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 9,
  "num_hidden_layers": 30, "num_key_value_heads": 3, "pad_token_id": 2, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05, "rope_interleaved": false, "rope_scaling": null, "rope_theta": 100000,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
  "use_cache": true, "vocab_size": 49152})";

std::string expect_config_error(const std::string& json, const std::string& field) {
  try {
    hf_config_parse(json, "test/config.json");
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("test/config.json: " + field), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "accepted: " << json;
  return {};
}

TEST(HfConfigRealModel, MiniLmIsASmallBert) {
  const std::string path = tok_test::model_path("ATTN_MINILM_CONFIG");
  ASSERT_FALSE(path.empty());
  const HfConfig c = hf_config_load(path);
  ASSERT_EQ(c.model_type, "bert");
  const auto want = HfBertConfig{.vocab_size = 30522, .hidden_size = 384, .n_layers = 6, .n_heads = 12,
                                 .intermediate_size = 1536, .max_position = 512, .type_vocab_size = 2,
                                 .layer_norm_eps = 1e-12, .activation = HfActivation::kGelu, .pad_token_id = 0};
  EXPECT_EQ(std::get<HfBertConfig>(c.config), want);
  EXPECT_NE(std::find(c.ignored.begin(), c.ignored.end(), "hidden_dropout_prob"), c.ignored.end());
}

TEST(HfConfig, SmolLm2IsALlamaWithGroupedQueries) {
  // SmolLM2's own extras are understood: "rope_interleaved" picks the pairing, "is_llama_config"
  // must not say otherwise; any other unknown field is still an error.
  const auto c = std::get<HfLlamaConfig>(hf_config_parse(kSmolLm2).config);
  EXPECT_FALSE(c.rope_interleaved);
  std::string not_llama = kSmolLm2;
  not_llama.replace(not_llama.find(R"("is_llama_config": true)"), 23, R"("is_llama_config": false)");
  expect_config_error(not_llama, "is_llama_config");
  std::string unknown = kSmolLm2;
  unknown.replace(unknown.find(R"("is_llama_config": true)"), 23, R"("is_lama_config": true )");
  expect_config_error(unknown, "is_lama_config");
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_DOUBLE_EQ(c.rope_theta, 100000);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.activation, HfActivation::kSilu);
}

TEST(HfConfig, Gpt2MarianAndT5) {
  const auto g = std::get<HfGpt2Config>(hf_config_parse(R"({"model_type": "gpt2", "activation_function": "gelu_new",
      "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "vocab_size": 50257,
      "resid_pdrop": 0.1, "n_inner": null, "summary_type": "cls_index"})").config);
  EXPECT_EQ(g.n_inner, 3072);
  EXPECT_EQ(g.activation, HfActivation::kGeluTanh);
  const auto m = std::get<HfEncoderDecoderConfig>(hf_config_parse(R"({"model_type": "marian", "d_model": 512,
      "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8, "decoder_attention_heads": 8,
      "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "activation_function": "swish", "vocab_size": 58101,
      "decoder_vocab_size": 58101, "max_position_embeddings": 512, "scale_embedding": true, "pad_token_id": 58100,
      "eos_token_id": 0, "decoder_start_token_id": 58100, "num_hidden_layers": 6, "static_position_embeddings": true})").config);
  EXPECT_EQ(m.family, HfEncoderDecoderConfig::Family::kMarian);
  EXPECT_TRUE(m.scale_embedding);
  EXPECT_EQ(m.activation, HfActivation::kSilu);
  const auto t = std::get<HfEncoderDecoderConfig>(hf_config_parse(R"({"model_type": "t5", "d_model": 512, "d_kv": 64,
      "d_ff": 2048, "num_layers": 6, "num_heads": 8, "relative_attention_num_buckets": 32, "vocab_size": 32128,
      "feed_forward_proj": "relu", "layer_norm_epsilon": 1e-06, "dropout_rate": 0.1, "n_positions": 512})").config);
  EXPECT_EQ(t.family, HfEncoderDecoderConfig::Family::kT5);
  EXPECT_EQ(t.decoder_layers, 6);
  EXPECT_TRUE(t.normalize_before);
}

TEST(HfConfig, UnknownAndContradictoryFieldsNameTheField) {
  EXPECT_NE(expect_config_error(R"({"model_type": "bert", "hidden_size": 384, "num_attention_heads": 12, "flash": 1})", "flash")
                .find("got 1"), std::string::npos);
  expect_config_error(R"({"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12})", "num_attention_heads");
  expect_config_error(R"({"model_type": "bert", "hidden_size": "384"})", "hidden_size");
  expect_config_error(R"({"model_type": "bert", "hidden_size": -4})", "hidden_size");
  expect_config_error(R"({"model_type": "bert", "position_embedding_type": "relative_key"})", "position_embedding_type");
  expect_config_error(R"({"model_type": "bert", "hidden_act": "mish"})", "hidden_act");
  expect_config_error(R"({"model_type": "llama", "num_attention_heads": 9, "num_key_value_heads": 2, "hidden_size": 576})", "num_key_value_heads");
  expect_config_error(R"({"model_type": "llama", "rope_scaling": {"type": "linear", "factor": 2.0}})", "rope_scaling");
  expect_config_error(R"({"model_type": "llama", "vocab_size": 100, "eos_token_id": 100})", "eos_token_id");
  expect_config_error(R"({"model_type": "gpt2", "n_ctx": 512, "n_positions": 1024})", "n_ctx");
  expect_config_error(R"({"model_type": "marian", "vocab_size": 10, "decoder_vocab_size": 12})", "decoder_vocab_size");
  expect_config_error(R"({"model_type": "mamba"})", "model_type");
  expect_config_error(R"({"hidden_size": 3})", "model_type");
  expect_config_error(R"([1, 2])", "(root)");
  expect_config_error(R"({"model_type": "bert", )", "(root)");
}

}  // namespace
}  // namespace attn
