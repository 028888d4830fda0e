#!/usr/bin/env bash
# scripts/fuzz-smoke.sh — builds the libFuzzer targets in fuzz/ (clang, ASan + UBSan) and runs each
# for a short while with its seed folders (named in the harness: "// seeds: dir dir").
#
#   scripts/fuzz-smoke.sh                    # every target, 25 s each
#   FUZZ_SECONDS=1800 scripts/fuzz-smoke.sh fuzz_gguf   # a long run of one target
#
# Environment: ATTN_FUZZ_BUILD (build dir, default build-fuzz), FUZZ_SECONDS (default 25),
# FUZZ_JOBS (ninja -j, default 2), FUZZ_SEED (default 1: the smoke run in the test command mutates
# the same way every time, so a red run can be replayed; use FUZZ_SEED=0 — random — for long runs). Exits non-zero on a build failure or any finding; crash inputs
# are left in $ATTN_FUZZ_BUILD/findings/<target>/ (turn each into a file under tests/hostile/).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_FUZZ_BUILD:-$root/build-fuzz}"
secs="${FUZZ_SECONDS:-25}"
cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"

mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DATTN_FUZZ=ON -DATTN_BUILD_TESTS=OFF -DATTN_BUILD_BENCH=OFF > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in "$root"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
ninja -C "$build" -j"${FUZZ_JOBS:-2}" "${targets[@]}"

status=0
scratch="$(mktemp -d -p "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )")"  # tmpfs: fast rewrites
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  seeds=()
  for d in $(sed -n 's|^// seeds: *||p' "$root/fuzz/$t.cpp"); do
    [ -d "$root/$d" ] && seeds+=("$root/$d")
  done
  echo "== $t: ${secs}s, seeds: ${seeds[*]:-none}"
  # Memory is bounded: a reader may never ask for more than 256 MB at once or hold 1 GB.
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    OMP_NUM_THREADS=1 ATTN_NUM_THREADS=1 ATTN_FUZZ_SCRATCH="$scratch" \
    "$build/fuzz/$t" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "${seeds[@]}" \
      > "$build/$t.log" 2>&1; then
    echo "FINDING in $t (see $build/$t.log and $findings/):"
    tail -n 40 "$build/$t.log"
    status=1
  fi
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^Done " "$build/$t.log" || true
done
exit $status
