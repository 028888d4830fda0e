// bench/peers/ggml_flash_attn.c — ggml peer for bench/attention: times ggml's CPU flash attention
// (ggml_flash_attn_ext, f32 Q/K/V) on the same shapes. Built by scripts/bench-setup.sh against the
// ggml vendored in the llama-cpp-python sdist; never part of the attn build or tests.
//
//   ggml_flash_attn THREADS D H CAUSAL T1,T2,...   -> one JSON line per T: {"T":..,"ms":..,"cpu_ms":..}
//
// B = 1, T = S. Causal masking goes through ggml's f16 mask [S, T] (0 / -inf), as llama.cpp does.
#include <ggml-cpu.h>
#include <ggml.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void fill_random(struct ggml_tensor* t, unsigned seed) {
  float* x = (float*)t->data;
  for (int64_t i = 0; i < ggml_nelements(t); ++i) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = ((seed >> 8) * (1.0f / 16777216.0f)) * 2.0f - 1.0f;
  }
}

// Best wall ms; *cpu_ms gets the best CPU time (all threads) of one call.
static double run(int threads, int D, int H, int causal, int T, double* cpu_ms) {
  const size_t bytes = (size_t)4 * H * T * D * 4 + (size_t)T * T * 2 + ((size_t)256 << 20);
  struct ggml_init_params ip = {bytes, NULL, false};
  struct ggml_context* ctx = ggml_init(ip);
  struct ggml_tensor* q = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, D, T, H, 1);
  struct ggml_tensor* k = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, D, T, H, 1);
  struct ggml_tensor* v = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, D, T, H, 1);
  fill_random(q, 1), fill_random(k, 2), fill_random(v, 3);
  struct ggml_tensor* mask = NULL;
  if (causal) {
    mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, T, T, 1, 1);
    ggml_fp16_t* m = (ggml_fp16_t*)mask->data;
    const ggml_fp16_t zero = ggml_fp32_to_fp16(0.0f), ninf = ggml_fp32_to_fp16(-INFINITY);
    for (int i = 0; i < T; ++i)
      for (int j = 0; j < T; ++j) m[(size_t)i * T + j] = j <= i ? zero : ninf;
  }
  struct ggml_tensor* out = ggml_flash_attn_ext(ctx, q, k, v, mask, 1.0f / sqrtf((float)D), 0.0f, 0.0f);
  struct ggml_cgraph* gf = ggml_new_graph(ctx);
  ggml_build_forward_expand(gf, out);
  ggml_graph_compute_with_ctx(ctx, gf, threads);  // warm-up
  double best = 1e30, best_cpu = 1e30, total = 0.0;
  for (int n = 0; total < 0.5 || n < 2; ++n) {
    const double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    ggml_graph_compute_with_ctx(ctx, gf, threads);
    const double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    total += dt;
    if (dt < best) best = dt;
    if (dc < best_cpu) best_cpu = dc;
  }
  ggml_free(ctx);
  *cpu_ms = best_cpu * 1e3;
  return best * 1e3;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s THREADS D H CAUSAL T1,T2,...\n", argv[0]);
    return 2;
  }
  ggml_cpu_init();
  const int threads = atoi(argv[1]), D = atoi(argv[2]), H = atoi(argv[3]), causal = atoi(argv[4]);
  for (char* tok = strtok(argv[5], ","); tok != NULL; tok = strtok(NULL, ",")) {
    const int T = atoi(tok);
    double cpu_ms = 0.0;
    const double ms = run(threads, D, H, causal, T, &cpu_ms);
    printf("{\"T\": %d, \"D\": %d, \"causal\": %d, \"ms\": %.4f, \"cpu_ms\": %.4f}\n", T, D, causal, ms, cpu_ms);
    fflush(stdout);
  }
  return 0;
}
