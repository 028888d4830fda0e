// fuzz/fuzz_gguf.cpp — libFuzzer target for the GGUF reader and dequantisers.
// seeds: tests/hostile/gguf tests/golden/io
//
// Any input must either open (and then every metadata value is summarised and every dequantisable
// tensor up to 16M elements is dequantised through both the fast path and the reference twin, which
// must agree) or throw attn::FormatError; anything else is a finding.
#include <attn/gguf.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "io/gguf_dequant.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = attn_fuzz::write_input(data, size, ".gguf");
  try {
    auto g = attn::GgufFile::open(path);
    for (const auto& kv : g.metadata()) (void)kv.value.summary(4);
    for (const auto& t : g.tensors()) {
      if (!attn::ggml_can_dequantize(t.type) || t.numel > (16u << 20)) continue;
      attn::Tensor fast = g.tensor_f32(t.name);
      std::vector<float> ref(t.numel);
      attn::io_detail::ggml_dequantize_ref(t.type, g.tensor_bytes(t.name).data(), ref.data(),
                                           static_cast<int64_t>(t.numel));
      const float* p = fast.data<float>();
      for (uint64_t i = 0; i < t.numel; ++i)
        if (std::memcmp(&p[i], &ref[i], 4) != 0 && !(std::isnan(p[i]) && std::isnan(ref[i]))) __builtin_trap();
    }
  } catch (const attn::FormatError&) {
  }
  return 0;
}
