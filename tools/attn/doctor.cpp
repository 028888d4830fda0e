// tools/attn/doctor.cpp — `attn doctor`: the capability report (as `attn --version`) plus measured
// sgemm GFLOP/s for every compiled GEMM backend and the bf16 path, on the current thread count.
//
//   attn doctor                  # sizes 512, 1024, 2048
//   attn --threads 2 doctor --sizes 1024 --seconds 0.5
#include <attn/threads.h>
#include <attn/version.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "command.h"
#include "kernels/gemm.h"

namespace {

struct DoctorOptions {
  std::vector<int64_t> sizes = {512, 1024, 2048};
  double seconds = 0.3;
};

void run_doctor(const DoctorOptions& o) {
  using namespace attn::kernels;
  std::fputs(attn::version_report().c_str(), stdout);
  std::printf("\nGEMM throughput, GFLOP/s (square M=N=K, best of >= %.2f s, %d threads)\n", o.seconds,
              attn::num_threads());
  std::printf("%8s", "size");
  for (GemmBackend b : available_gemm_backends()) std::printf(" %10s", gemm_backend_name(b));
  std::printf(" %10s\n", "bf16");
  for (int64_t n : o.sizes) {
    std::printf("%8lld", static_cast<long long>(n));
    for (GemmBackend b : available_gemm_backends()) {
      std::printf(" %10.1f", measure_sgemm_gflops(b, n, n, n, o.seconds));
      std::fflush(stdout);
    }
    std::printf(" %10.1f\n", measure_gemm_bf16_gflops(n, n, n, o.seconds));
  }
  std::printf("bf16 path: %s\n", gemm_bf16_path());
}

const bool registered = attn::cli::register_command({
    .name = "doctor",
    .help = "Print the CPU, SIMD and GEMM choices and measure GEMM GFLOP/s per backend",
    .setup =
        [](CLI::App& app) {
          auto opts = std::make_shared<DoctorOptions>();
          app.add_option("--sizes", opts->sizes, "square GEMM sizes to measure");
          app.add_option("--seconds", opts->seconds, "minimum timing per measurement");
          app.callback([opts] { run_doctor(*opts); });
        },
});

}  // namespace
