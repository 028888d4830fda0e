// fuzz/fuzz_tokenizer_json.cpp — libFuzzer target for the tokenizer.json reader and the pipeline.
// seeds: tests/hostile/tokenizer_json tests/regress/tokenizer_json tests/golden/tokenizers
//
// Any input must either load or throw attn::FormatError. A tokenizer that loads then encodes a few
// fixed strings and the input's own bytes (as text, valid UTF-8 or not), decodes the ids, and must
// give ids inside its vocabulary; a lossless one must give back the exact text. Anything else —
// another exception, a crash, a sanitizer report — is a finding.
#include <attn/error.h>
#include <attn/tokenizer.h>

#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  attn::Tokenizer tok = [&]() -> attn::Tokenizer {
    try {
      return attn::Tokenizer::from_json(bytes, "fuzz.json");
    } catch (const attn::FormatError&) {
      return attn::Tokenizer::from_vocab_txt("[UNK]\n", "fallback.txt");
    }
  }();
  const std::string_view texts[] = {"Hello, world! It's 2026.", " \t\n  spaces ", "naïve 日本語 🤖 ab",
                                    bytes.substr(0, 256)};
  for (std::string_view text : texts) {
    for (bool special : {false, true}) {
      const auto ids = tok.encode(text, {.add_special_tokens = special});
      for (int32_t id : ids) {
        if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
      }
      const std::string back = tok.decode(ids, {.skip_special_tokens = false});
      if (!special && tok.lossless() && text != bytes.substr(0, 256) && back != text) __builtin_trap();
    }
  }
  return 0;
}
