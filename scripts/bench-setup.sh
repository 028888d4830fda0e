#!/usr/bin/env bash
# scripts/bench-setup.sh — installs the peers the attention benchmark compares against. The tests
# never need any of this; bench/attention finds it through ATTN_BENCH_DIR.
#
#   scripts/bench-setup.sh              # -> ~/.cache/attn-bench (or $ATTN_BENCH_DIR)
#   build/bench/bench_attention --peers # runs attn, PyTorch and ggml side by side
#
# 1. A venv with the current PyTorch from PyPI, for scaled_dot_product_attention. (The Linux wheel
#    pulls in ~3 GB of CUDA libraries that a CPU benchmark never loads; torch will not import without
#    them, and PyPI is the only index these machines reach.)
# 2. ggml's CPU backend, built from the llama.cpp source vendored in the PyPI sdist of
#    llama-cpp-python, and bench/peers/ggml_flash_attn.c linked against it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${ATTN_BENCH_DIR:-$HOME/.cache/attn-bench}
mkdir -p "$DIR"
cd "$DIR"

# ---- PyTorch ----
if [ ! -x venv/bin/python ] || ! venv/bin/python -c "import torch" 2>/dev/null; then
  python3 -m venv venv
  venv/bin/pip install --quiet --upgrade pip
  venv/bin/pip install --quiet torch numpy
fi
venv/bin/python -c "import torch; print('torch', torch.__version__, torch.backends.cpu.get_cpu_capability())"

# ---- ggml (from the llama-cpp-python sdist) ----
if [ ! -x ggml_flash_attn ]; then
  if [ ! -d llama-src ]; then
    venv/bin/pip download --quiet --no-deps --no-binary :all: --no-build-isolation llama-cpp-python -d sdist \
      2>/dev/null || true
    SDIST=$(ls sdist/llama_cpp_python-*.tar.gz 2>/dev/null | head -1 || true)
    if [ -z "$SDIST" ]; then  # pip wants to build metadata; take the file the index lists instead
      URL=$(venv/bin/python - <<'PY'
import json, urllib.parse, urllib.request
api = "https://pypi.org/pypi/llama-cpp-python/json"
info = json.load(urllib.request.urlopen(api))
print(urllib.parse.urljoin(api, next(u["url"] for u in info["urls"] if u["packagetype"] == "sdist")))
PY
)
      mkdir -p sdist && venv/bin/python -c "import urllib.request,sys; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
        "$URL" "sdist/$(basename "$URL")"
      SDIST=sdist/$(basename "$URL")
    fi
    mkdir -p llama-src && tar -xzf "$SDIST" -C llama-src --strip-components=1
  fi
  GGML=llama-src/vendor/llama.cpp/ggml
  [ -f "$GGML/ggml.pc.in" ] || touch "$GGML/ggml.pc.in"  # the sdist leaves out the pkg-config template
  cmake -S "$GGML" -B ggml-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON -DGGML_OPENMP=ON -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF > ggml-cmake.log
  cmake --build ggml-build -j "$(nproc)" --target ggml > ggml-build.log
  LIBS=$(find ggml-build -name 'libggml*.a' | sort -r | tr '\n' ' ')
  g++ -O2 -std=c++17 -x c++ "$ROOT/bench/peers/ggml_flash_attn.c" -x none -I "$GGML/include" -o ggml_flash_attn \
    -Wl,--start-group $LIBS -Wl,--end-group -fopenmp -lpthread -lm
fi
echo "ggml peer: $DIR/ggml_flash_attn"
