// The gradient table: one row per differentiable op (every name passed to autograd::record or
// finish_view anywhere in src/), each checked against 4-point finite differences. The test
// `EveryRecordedOpHasARow` scans the sources, so a new differentiable op without a row fails CI.
#include <attn/autograd.h>
#include <attn/gradcheck.h>
#include <attn/loss.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "autograd/gradcheck_rows.h"

namespace attn {
namespace {

TEST(GradcheckTable, EveryRowPasses) {
  for (const GradRow& row : grad_rows()) {
    SCOPED_TRACE(row.name);
    const GradcheckResult r = gradcheck(row.fn, row.inputs, row.opts);
    EXPECT_TRUE(r.ok) << row.name << "\n" << r.report;
  }
}

std::set<std::string> recorded_names_in_sources() {
  std::set<std::string> names;
  const std::regex pattern(R"((?:autograd::record|finish_view|grad_op)\(\s*(?:t,\s*)?\"([A-Za-z0-9_]+)\")");
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(ATTN_SOURCE_DIR) + "/src")) {
    if (entry.path().extension() != ".cpp") continue;
    std::ifstream f(entry.path());
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it) names.insert((*it)[1]);
  }
  return names;
}

TEST(GradcheckTable, EveryRecordedOpHasARow) {
  std::set<std::string> rows;
  for (const GradRow& row : grad_rows()) rows.insert(row.op);
  const std::set<std::string> recorded = recorded_names_in_sources();
  EXPECT_GE(recorded.size(), 10u) << "the source scan found almost nothing: is the pattern stale?";
  for (const std::string& op : recorded) EXPECT_TRUE(rows.count(op)) << "differentiable op '" << op << "' has no row";
}

}  // namespace
}  // namespace attn
