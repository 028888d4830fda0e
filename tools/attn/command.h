// tools/attn/command.h — how a subcommand plugs into the attn CLI.
//
// One file per subcommand. Each file registers itself at static-init time:
//
//   static const bool registered = attn::cli::register_command({
//       .name = "inspect",
//       .help = "Print a safetensors or GGUF file's metadata and tensor table",
//       .setup = [](CLI::App& app) {
//         auto opts = std::make_shared<InspectOptions>();
//         app.add_option("file", opts->path, "safetensors or GGUF file")->required();
//         app.callback([opts] { run_inspect(*opts); });
//       }});
//
// A callback reports failure by throwing attn::Error (main prints it with a hint, exit code 1) or
// attn::cli::Exit{code} for a quiet non-zero exit.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace attn::cli {

struct Command {
  std::string name;
  std::string help;
  std::function<void(CLI::App&)> setup;
};

bool register_command(Command command);

struct Exit {
  int code;
};

}  // namespace attn::cli
