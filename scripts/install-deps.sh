#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need. Idempotent: packages already
# present are left alone. Works as root or through sudo.
#
#   scripts/install-deps.sh            build + test + demo packages
#   scripts/install-deps.sh --goldens  also python3-torch (only to regenerate tests/golden/)
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libhwy-dev            # SIMD with run-time dispatch (kernels/)
  libdnnl-dev           # oneDNN: sgemm / bf16 gemm, chosen at run time (kernels/gemm)
  libopenblas-dev       # OpenBLAS: the other GEMM candidate
  libomp-dev            # OpenMP runtime headers (gcc's libgomp comes with gcc)
  nlohmann-json3-dev    # JSON: safetensors headers, tokenizer.json, config.json, metrics
  libcli11-dev          # CLI parsing for tools/attn
  libfmt-dev
  libstb-dev            # stb_image_write for PNG heatmaps
  clang libclang-rt-14-dev  # sanitizers + libFuzzer builds
)
if [[ "${1:-}" == "--goldens" ]]; then pkgs+=(python3-torch python3-numpy); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
