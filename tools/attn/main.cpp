// tools/attn/main.cpp — the attn command-line tool: collects the registered subcommands, parses,
// runs, and turns errors into a message, a hint and a non-zero exit code.
#include <attn/error.h>
#include <attn/threads.h>
#include <attn/version.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "command.h"

namespace attn::cli {
namespace {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

const char* hint_for(const std::exception& e) {
  if (dynamic_cast<const attn::ShapeError*>(&e)) return "check the sizes given on the command line or in the config";
  if (dynamic_cast<const attn::FormatError*>(&e)) return "the file is damaged or not in the format its name suggests; `attn inspect FILE` shows what it holds";
  if (dynamic_cast<const attn::ConfigError*>(&e)) return "check the named field in the config or the matching command-line flag";
  if (dynamic_cast<const attn::IoError*>(&e)) return "check that the path exists and is readable (or writable)";
  return "run with --help for usage";
}
}  // namespace

bool register_command(Command command) {
  registry().push_back(std::move(command));
  return true;
}

}  // namespace attn::cli

// OpenMP (libgomp) threads wait for the next parallel region by spinning, then sleeping. Which is
// right depends on the machine (nanoGPT CPU config, 2 threads, Zen 4, tokens/s):
//                     idle machine   two other busy processes
//   PASSIVE (sleep)       ≈ 19,000          ≈ 15,000
//   spin 3000, sleep      ≈ 28,000      9,000–12,000
//   ACTIVE (spin)         ≈ 28,000           ≈ 7,600     (once measured 10x slower at load 15)
// A training step is hundreds of short parallel regions, so waking sleeping threads costs ~45 % on
// an idle machine, while spinning on a busy one steals the cores the other threads need. libgomp
// reads its settings only when it loads, so the CLI picks once, from the 1-minute load average
// (< 0.5 per core: a short spin; otherwise PASSIVE), sets the variables and re-executes itself.
// Explicit OMP_WAIT_POLICY or GOMP_SPINCOUNT settings are respected.
static void choose_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  double load = 1e9;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 1e9;
    std::fclose(f);
  }
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  if (cpus > 0 && load < 0.5 * static_cast<double>(cpus)) ::setenv("GOMP_SPINCOUNT", "3000", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  using namespace attn::cli;
  choose_openmp_wait(argv);
  CLI::App app{"attn — an engine for attention-based models", "attn"};
  app.require_subcommand(0, 1);
  // A callback: the report measures the GEMM backends, so only build it when --version is given.
  app.set_version_flag("--version", std::function<std::string()>([] { return attn::version_report(); }));
  int threads = 0;
  app.add_option("--threads", threads, "number of threads (default: ATTN_NUM_THREADS or all cores)");
  auto& commands = registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  for (auto& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    c.setup(*sub);
  }
  app.parse_complete_callback([&] {
    if (threads > 0) attn::set_num_threads(threads);
  });
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::fputs(app.help().c_str(), stdout);
      return 0;
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Exit& e) {
    return e.code;
  } catch (const attn::Error& e) {
    std::fprintf(stderr, "attn: error: %s\nhint: %s\n", e.what(), hint_for(e));
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
