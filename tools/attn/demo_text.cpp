// tools/attn/demo_text.cpp — `attn demo-text`: writes a deterministic little play made from a
// small grammar (speakers, questions, answers, rhymes of word lists), the text `make demo` trains
// on. Made by the project itself, so the demo needs no download and no copy of ../shared.
#include <attn/rng.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "command.h"

namespace attn::cli {
namespace {

using Words = std::vector<std::string>;
const Words kSpeakers = {"ALICE", "BOB", "CAROL", "DAVID", "EVE", "THE KING"};
const Words kNames = {"Alice", "Bob", "Carol", "David", "Eve"};
const Words kAdjs = {"red", "old", "quiet", "little", "golden", "cold", "bright", "sleepy", "brave", "green"};
const Words kNouns = {"fox", "king", "river", "garden", "moon", "ship", "castle", "bird", "door", "queen", "tree",
                      "letter"};
const Words kVerbs = {"runs", "sleeps", "sings", "waits", "falls", "shines", "turns", "stands"};
const Words kVerbBase = {"run", "sleep", "sing", "wait", "fall", "shine", "turn", "stand"};
const Words kPreps = {"over", "under", "near", "beyond", "behind", "across"};

struct Gen {
  Rng rng;
  const std::string& pick(const Words& w) { return w[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(w.size())))]; }
  std::string np() { return "the " + pick(kAdjs) + " " + pick(kNouns); }
  std::string sentence() {
    std::string s;
    switch (rng.randint(0, 6)) {
      case 0: s = np() + " " + pick(kVerbs) + " " + pick(kPreps) + " " + np() + "."; break;
      case 1: s = pick(kNames) + ", where is " + np() + "?"; break;
      case 2: s = "I have seen " + np() + " " + pick(kPreps) + " the " + pick(kNouns) + "."; break;
      case 3: s = "why does the " + pick(kNouns) + " " + pick(kVerbBase) + "?"; break;
      case 4: s = pick(kNames) + " said that " + np() + " was " + pick(kAdjs) + "."; break;
      default: {
        const std::string& n = pick(kNouns);
        s = "the " + n + " " + pick(kVerbs) + ", and the " + n + " " + pick(kVerbs) + " again.";
      }
    }
    s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
  }
};

std::string demo_text(int64_t chars, uint64_t seed) {
  Gen g{Rng(seed)};
  std::string out;
  while (static_cast<int64_t>(out.size()) < chars) {
    out += g.pick(kSpeakers) + ":\n";
    for (int64_t k = g.rng.randint(1, 4); k > 0; --k) out += g.sentence() + "\n";
    out += "\n";
  }
  return out;
}

struct DemoTextOptions {
  std::string out = "out/demo/text.txt";
  int64_t chars = 300000;
  uint64_t seed = 0;
};

void run_demo_text(const DemoTextOptions& o) {
  ATTN_CHECK(o.chars > 0, ValueError, "attn demo-text: --chars must be positive, got {}", o.chars);
  const std::filesystem::path p(o.out);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream f(o.out, std::ios::binary | std::ios::trunc);
  ATTN_CHECK(f.good(), IoError, "attn demo-text: cannot write {}", o.out);
  const std::string text = demo_text(o.chars, o.seed);
  f << text;
  ATTN_CHECK(f.good(), IoError, "attn demo-text: write to {} failed", o.out);
  fmt::print("attn demo-text: wrote {} characters to {}\n", text.size(), o.out);
}

const bool registered = register_command({
    .name = "demo-text",
    .help = "Write the deterministic little play that `make demo` trains a GPT on",
    .setup = [](CLI::App& app) {
      auto o = std::make_shared<DemoTextOptions>();
      app.add_option("--out", o->out, "file to write")->capture_default_str();
      app.add_option("--chars", o->chars, "approximate length")->capture_default_str();
      app.add_option("--seed", o->seed, "seed")->capture_default_str();
      app.callback([o] { run_demo_text(*o); });
    }});

}  // namespace
}  // namespace attn::cli
