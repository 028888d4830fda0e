// attn/version.h — version and build/run-time capability report (`attn --version`, `attn doctor`).
#pragma once

#include <string>

namespace attn {

const char* version();
// The CPU's model name from /proc/cpuinfo ("AMD EPYC 9R14 ..."), for reports and benchmark tables.
std::string cpu_model();
// Multi-line: version, CPU model, SIMD targets compiled and chosen, GEMM backend, thread count.
std::string version_report();

}  // namespace attn
