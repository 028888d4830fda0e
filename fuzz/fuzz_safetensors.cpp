// fuzz/fuzz_safetensors.cpp — libFuzzer target for the safetensors reader.
// seeds: tests/hostile/safetensors tests/golden/io
//
// Any input must either open (and then every tensor converts to f32 and every byte of it is read)
// or throw attn::FormatError; any other exception, crash, leak or sanitizer report is a finding.
#include <attn/safetensors.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = attn_fuzz::write_input(data, size, ".safetensors");
  try {
    auto f = attn::SafetensorsFile::open(path);
    volatile float sink = 0;
    for (const auto& e : f.tensors()) {
      if (e.dtype == attn::StDType::kBool || e.nbytes() > (64u << 20)) continue;
      attn::Tensor t = f.tensor_f32(e.name);
      const float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) sink = sink + p[i];
    }
    (void)f.metadata().size();
  } catch (const attn::FormatError&) {
  }
  return 0;
}
