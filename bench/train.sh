#!/usr/bin/env bash
# bench/train.sh — training speed, attn vs PyTorch, same model, batch, data and threads, in one run.
#
#   bench/train.sh [nanogpt-cpu|nanogpt] [STEPS]     # after scripts/bench-setup.sh (the torch venv)
#
# attn runs `attn train` (fp32, and --bf16 matmuls) for 5 + STEPS steps (default 60) and reads each
# step's wall time from its metrics.jsonl; PyTorch runs bench/peers/torch_gpt_train.py (eager and
# torch.compile, fp32 and bf16 autocast) under both OpenMP wait policies, best kept.
# Data: ../shared/data/tinyshakespeare/input.txt (ATTN_DATA_DIR overrides).
# A benchmark, not a test: it prints a table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG=${1:-nanogpt-cpu}
STEPS=${2:-60}
THREADS=${ATTN_NUM_THREADS:-2}
DATA=${ATTN_DATA_DIR:-$ROOT/../shared/data}/tinyshakespeare/input.txt
PY=${ATTN_BENCH_DIR:-$HOME/.cache/attn-bench}/venv/bin/python
ATTN=$ROOT/build/tools/attn/attn
[ -f "$DATA" ] || { echo "bench/train.sh: no data at $DATA (set ATTN_DATA_DIR)"; exit 1; }
[ -x "$PY" ] || { echo "bench/train.sh: no torch venv at $PY (run scripts/bench-setup.sh)"; exit 1; }
case $CONFIG in
  nanogpt-cpu) SHAPE="--layers 4 --heads 4 --dim 128 --block 64 --batch 12" ;;
  nanogpt) SHAPE="--layers 6 --heads 6 --dim 384 --block 256 --batch 8" ;;
  *) echo "bench/train.sh: config must be nanogpt-cpu or nanogpt"; exit 1 ;;
esac
BATCH=$(sed -n 's/.*--batch \([0-9]*\).*/\1/p' <<<"$SHAPE")
BLOCK=$(sed -n 's/.*--block \([0-9]*\).*/\1/p' <<<"$SHAPE")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $THREADS, config $CONFIG, $STEPS steps"

# attn tokens/s over the steps after the first 5 (the peer also skips 5 warm-up steps), from the
# metrics' per-step wall time: start-up, oneDNN's JIT and the final evaluation are not counted.
# Best of the two OpenMP waits the CLI chooses between (PASSIVE; a short spin), as for the peer.
attn_run() {  # attn_run NAME [flags...] -> tokens/s
  local name=$1 best=0 tps; shift
  for spin in "" 3000; do
    rm -rf "$OUT/$name"
    env OMP_WAIT_POLICY=PASSIVE ${spin:+GOMP_SPINCOUNT=$spin} ATTN_NUM_THREADS=$THREADS "$ATTN" train --data "$DATA" \
      --config "$CONFIG" --batch-size "$BATCH" --dropout 0 --steps $((STEPS + 5)) --warmup 5 --eval-interval 100000 \
      --eval-iters 1 --out "$OUT/$name" --quiet "$@" >/dev/null
    tps=$(python3 -c "
import json
rows = [json.loads(l) for l in open('$OUT/$name/metrics.jsonl')]
s = [r['step_s'] for r in rows if 'step_s' in r][5:]
print($BATCH * $BLOCK * len(s) / sum(s))")
    best=$(python3 -c "print(max($best, $tps))")
  done
  echo "$best"
}
# The peer's best over both OpenMP wait policies: prints "TOKENS_PER_S<TAB>NAME" (0 when it failed).
torch_run() {  # torch_run [--bf16] [--compile]
  local best=0 name="torch $* (failed)" line tps
  for policy in "" PASSIVE; do
    if [ -z "$policy" ]; then run=(env -u OMP_WAIT_POLICY); else run=(env OMP_WAIT_POLICY=$policy); fi
    line=$("${run[@]}" "$PY" "$ROOT/bench/peers/torch_gpt_train.py" --data "$DATA" $SHAPE \
      --steps "$STEPS" --threads "$THREADS" "$@" 2>/dev/null | tail -1) || continue
    tps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tokens_per_s"])' "$line" 2>/dev/null) || continue
    if python3 -c "import sys; sys.exit(0 if $tps > $best else 1)"; then
      best=$tps; name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["peer"])' "$line")
    fi
  done
  printf "%s\t%s\n" "$best" "$name"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}' if $2 > 0 else '-')"; }

attn_f32=$(attn_run f32)
attn_bf16=$(attn_run bf16 --bf16)
IFS=$'\t' read -r t_f32 n_f32 < <(torch_run)
IFS=$'\t' read -r t_f32c n_f32c < <(torch_run --compile)
IFS=$'\t' read -r t_bf16 n_bf16 < <(torch_run --bf16)
IFS=$'\t' read -r t_bf16c n_bf16c < <(torch_run --bf16 --compile)
best_f32=$(python3 -c "print(max($t_f32, $t_f32c))")
best_bf16=$(python3 -c "print(max($t_bf16, $t_bf16c))")

printf "%-36s %12s   %s\n" "engine" "tokens/s" "attn / this, same precision"
printf "%-36s %12.0f   %s\n" "attn fp32" "$attn_f32" "$(ratio "$attn_f32" "$best_f32") vs the best torch fp32"
printf "%-36s %12.0f   %s\n" "attn bf16 matmuls (--bf16)" "$attn_bf16" "$(ratio "$attn_bf16" "$best_bf16") vs the best torch bf16"
printf "%-36s %12.0f   %s\n" "$n_f32" "$t_f32" "$(ratio "$attn_f32" "$t_f32")"
printf "%-36s %12.0f   %s\n" "$n_f32c" "$t_f32c" "$(ratio "$attn_f32" "$t_f32c")"
printf "%-36s %12.0f   %s\n" "$n_bf16" "$t_bf16" "$(ratio "$attn_bf16" "$t_bf16")"
printf "%-36s %12.0f   %s\n" "$n_bf16c" "$t_bf16c" "$(ratio "$attn_bf16" "$t_bf16c")"
