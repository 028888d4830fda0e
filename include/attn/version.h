// attn/version.h — version and build/run-time capability report (`attn --version`, `attn doctor`).
#pragma once

#include <string>

namespace attn {

const char* version();
// Multi-line: version, CPU model, SIMD targets compiled and chosen, GEMM backend, thread count.
std::string version_report();

}  // namespace attn
