// tests/kernels/dispatch_test.cpp — the SIMD target list, forcing, and ATTN_CPU_TARGET name parsing.
#include <attn/error.h>

#include <algorithm>

#include "kernels/dispatch.h"
#include "kernels/kernel_test_util.h"

namespace attn::kernels {
namespace {

std::vector<std::string> names(const std::vector<int64_t>& targets) {
  std::vector<std::string> out;
  for (int64_t t : targets) out.push_back(target_name(t));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Dispatch, CompilesScalarAvx2AndAvx512) {
  const auto compiled = names(compiled_targets());
  for (const char* want : {"SSE4", "AVX2", "AVX3", "AVX3_DL"})
    EXPECT_TRUE(contains(compiled, want)) << want << " missing from the compiled targets";
  // The portable baseline: EMU128, or SCALAR where Highway marks EMU128 broken for this compiler.
  EXPECT_TRUE(contains(compiled, "EMU128") || contains(compiled, "SCALAR"));
}

TEST(Dispatch, UsableIsSubsetOfCompiledAndIncludesScalar) {
  const auto compiled = compiled_targets();
  const auto usable = usable_targets();
  ASSERT_FALSE(usable.empty());
  for (int64_t t : usable) EXPECT_NE(std::find(compiled.begin(), compiled.end(), t), compiled.end());
  EXPECT_TRUE(contains(names(usable), target_name(parse_target_name("scalar"))));
}

TEST(Dispatch, ScopedTargetForcesAndRestores) {
  const int64_t before = chosen_target();
  for (int64_t t : usable_targets()) {
    {
      ScopedCpuTarget force(t);
      EXPECT_EQ(chosen_target(), t) << target_name(t);
    }
    EXPECT_EQ(chosen_target(), before);
  }
}

TEST(Dispatch, ParsesNames) {
  const std::string scalar = target_name(parse_target_name("scalar"));
  EXPECT_TRUE(scalar == "EMU128" || scalar == "SCALAR") << scalar;
  EXPECT_EQ(parse_target_name("emu128"), parse_target_name("scalar"));
  EXPECT_EQ(target_name(parse_target_name("AVX2")), "AVX2");
  EXPECT_EQ(target_name(parse_target_name("avx512")), "AVX3");
  EXPECT_EQ(target_name(parse_target_name("avx512_zen4")), "AVX3_DL");
  EXPECT_EQ(target_name(parse_target_name("avx512_spr")), "AVX3_DL");
  EXPECT_EQ(parse_target_name("best"), usable_targets().front());
  EXPECT_EQ(parse_target_name("avx9000"), 0);
}

TEST(Dispatch, UnknownNameListsValidOnes) {
  try {
    resolve_target_name("avx9000");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("avx9000"), std::string::npos) << msg;
    EXPECT_NE(msg.find("avx2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("avx512_zen4"), std::string::npos) << msg;
  }
  EXPECT_THROW(resolve_target_name("ssse3"), ConfigError);  // named, but not compiled
  EXPECT_EQ(resolve_target_name("scalar"), parse_target_name("scalar"));
}

}  // namespace
}  // namespace attn::kernels
