// tests/core/profile_test.cpp — the named-scope profile (attn/profile.h): off records nothing, scopes
// nest and sum per name, parallel regions are not recorded, reset clears.
#include <attn/profile.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace attn {
namespace {

struct ProfileOn {
  ProfileOn() {
    profile_reset();
    profile_enable(true);
  }
  ~ProfileOn() {
    profile_enable(false);
    profile_reset();
  }
};

// The line of `name` in the report (empty when absent).
std::string line_of(const std::string& report, const std::string& name) {
  size_t at = 0;
  while ((at = report.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || report[at - 1] == '\n') return report.substr(at, report.find('\n', at) - at);
    ++at;
  }
  return {};
}

TEST(Profile, OffRecordsNothing) {
  profile_reset();
  profile_enable(false);
  { ProfileScope s("quiet"); }
  EXPECT_EQ(line_of(profile_report(), "quiet"), "");
}

TEST(Profile, ScopesNestAndSumPerName) {
  ProfileOn on;
  for (int i = 0; i < 3; ++i) {
    ProfileScope outer("outer");
    ProfileScope inner("backward", "linear");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const std::string report = profile_report("outer");
  const std::string outer = line_of(report, "outer"), inner = line_of(report, "backward linear");
  ASSERT_NE(outer, "") << report;
  ASSERT_NE(inner, "") << report;
  // name, total ms, calls, ms per call, share of "outer"
  double total = 0, per = 0, share = 0;
  long calls = 0;
  ASSERT_EQ(std::sscanf(inner.c_str() + std::string("backward linear").size(), "%lf %ld %lf %lf%%", &total, &calls,
                        &per, &share),
            4)
      << inner;
  EXPECT_EQ(calls, 3);
  EXPECT_GE(total, 6.0);
  EXPECT_NEAR(per, total / 3, 0.02);  // total is printed to 0.1 ms
  EXPECT_GT(share, 50.0);
  EXPECT_LE(share, 100.0);
}

TEST(Profile, ParallelRegionsAreNotRecordedAndResetClears) {
  ProfileOn on;
#pragma omp parallel num_threads(2)
  { ProfileScope s("inside"); }
  EXPECT_EQ(line_of(profile_report(), "inside"), "");
  { ProfileScope s("outside"); }
  EXPECT_NE(line_of(profile_report(), "outside"), "");
  profile_reset();
  EXPECT_EQ(line_of(profile_report(), "outside"), "");
}

}  // namespace
}  // namespace attn
