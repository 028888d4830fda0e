// bench/tokenizer.cpp — tokenizer throughput on one thread vs the Hugging Face `tokenizers` library,
// measured in the same run on the same corpus (tests/golden/tokenizers/corpus.txt).
//
//   bench_tokenizer [--seconds S] [--no-peer]
//
// Tokenizers: the committed small ones (always) and the real MiniLM / SmolLM2 ones when
// scripts/fetch-models.sh has installed them. Each is warmed with one pass (both sides cache words),
// then encodes the whole corpus repeatedly for S seconds. The peer is bench/peers/tokenizers_peer.py
// (python3 with `tokenizers` and `gguf` installed), run with RAYON_NUM_THREADS=1. The table shows
// MB/s and tokens/s for both and the ratio attn / peer; the CPU model is printed above it.
#include <attn/tokenizer.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string source_dir() { return ATTN_SOURCE_DIR; }

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::vector<std::string> read_corpus(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string l; std::getline(in, l);) {
    std::string s;
    for (size_t i = 0; i < l.size(); ++i) {
      if (l[i] == '\\' && i + 1 < l.size()) {
        const char c = l[++i];
        s.push_back(c == 'n' ? '\n' : c == 'r' ? '\r' : c);
      } else {
        s.push_back(l[i]);
      }
    }
    lines.push_back(std::move(s));
  }
  return lines;
}

std::map<std::string, std::string> model_paths() {
  const char* dir = std::getenv("ATTN_MODEL_DIR");
  const char* home = std::getenv("HOME");
  const std::string base = dir ? dir : std::string(home ? home : "") + "/.cache/attn/models";
  std::map<std::string, std::string> env;
  std::ifstream in(base + "/paths.env");
  for (std::string l; std::getline(in, l);) {
    const auto eq = l.find('=');
    if (eq != std::string::npos) env[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return env;
}

struct Result {
  double bytes_per_s = 0, tokens_per_s = 0;
};

Result measure(const attn::Tokenizer& tok, const std::vector<std::string>& lines, double seconds) {
  size_t bytes = 0, tokens = 0;
  for (const auto& l : lines) {
    bytes += l.size();
    tokens += tok.encode(l).size();  // warm-up pass
  }
  using clock = std::chrono::steady_clock;
  size_t passes = 0;
  const auto start = clock::now();
  double elapsed = 0;
  size_t sink = 0;
  do {
    for (const auto& l : lines) sink += tok.encode(l).size();
    ++passes;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  if (sink == 42) std::puts("");
  return {bytes * passes / elapsed, tokens * passes / elapsed};
}

std::map<std::string, Result> run_peer(const std::vector<std::pair<std::string, std::string>>& specs, double seconds) {
  std::string cmd = fmt::format("RAYON_NUM_THREADS=1 python3 {}/bench/peers/tokenizers_peer.py --seconds={} {}/tests/golden/tokenizers/corpus.txt",
                                source_dir(), seconds, source_dir());
  for (const auto& [name, path] : specs) cmd += " " + name + "=" + path;
  std::map<std::string, Result> out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) {
    const auto j = nlohmann::json::parse(buf, nullptr, false);
    if (j.is_object() && j.contains("name")) out[j["name"]] = {j["bytes_per_s"].get<double>(), j["tokens_per_s"].get<double>()};
  }
  ::pclose(pipe);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  bool peer = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-peer")) peer = false;
  }
  const std::string gold = source_dir() + "/tests/golden/tokenizers";
  const auto lines = read_corpus(gold + "/corpus.txt");
  std::vector<std::pair<std::string, std::string>> specs;
  auto env = model_paths();
  if (env.count("ATTN_MINILM_TOKENIZER")) specs.emplace_back("minilm", env["ATTN_MINILM_TOKENIZER"]);
  if (env.count("ATTN_SMOLLM2_GGUF")) specs.emplace_back("smollm2", env["ATTN_SMOLLM2_GGUF"]);
  for (const char* n : {"gpt2_small", "llama3_small", "llama2_small", "marian_small"}) {
    specs.emplace_back(n, gold + "/" + n + ".json");
  }
  size_t corpus_bytes = 0;
  for (const auto& l : lines) corpus_bytes += l.size();
  fmt::print("tokenizer throughput, one thread, corpus {} lines / {} bytes; CPU: {}\n", lines.size(), corpus_bytes, cpu_model());
  std::map<std::string, Result> ours;
  for (const auto& [name, path] : specs) ours[name] = measure(attn::Tokenizer::load(path), lines, seconds);
  const auto theirs = peer ? run_peer(specs, seconds) : std::map<std::string, Result>{};
  fmt::print("{:<14} {:>12} {:>14} {:>12} {:>14} {:>8}\n", "tokenizer", "attn MB/s", "attn tok/s", "HF MB/s", "HF tok/s", "ratio");
  for (const auto& [name, path] : specs) {
    const Result& a = ours[name];
    auto it = theirs.find(name);
    if (it == theirs.end()) {
      fmt::print("{:<14} {:>12.2f} {:>14.0f} {:>12} {:>14} {:>8}\n", name, a.bytes_per_s / 1e6, a.tokens_per_s, "-", "-", "-");
    } else {
      const Result& h = it->second;
      fmt::print("{:<14} {:>12.2f} {:>14.0f} {:>12.2f} {:>14.0f} {:>7.2f}x\n", name, a.bytes_per_s / 1e6, a.tokens_per_s,
                 h.bytes_per_s / 1e6, h.tokens_per_s, a.bytes_per_s / h.bytes_per_s);
    }
  }
  return 0;
}
