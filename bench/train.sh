#!/usr/bin/env bash
# bench/train.sh — training speed, attn vs PyTorch, same model, batch, data and threads, in one run.
#
#   bench/train.sh [nanogpt-cpu|nanogpt] [STEPS]     # after scripts/bench-setup.sh (the torch venv)
#
# attn runs `attn train` for STEPS steps (default 60) and reads tokens/s from its metrics.jsonl;
# PyTorch runs bench/peers/torch_gpt_train.py (eager fp32, bf16 autocast) under both OpenMP wait
# policies, best kept. Data: ../shared/data/tinyshakespeare/input.txt (ATTN_DATA_DIR overrides).
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
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $THREADS, config $CONFIG, $STEPS steps"
ATTN_NUM_THREADS=$THREADS "$ATTN" train --data "$DATA" --config "$CONFIG" --batch-size "$BATCH" --dropout 0 \
  --steps "$STEPS" --warmup 5 --eval-interval 100000 --out "$OUT/attn" --quiet >/dev/null
attn_tps=$(python3 -c "
import json,sys
rows=[json.loads(l) for l in open('$OUT/attn/metrics.jsonl') if '\"tokens_per_s\"' in l or 'tokens' in l]
vals=[r.get('tokens_per_s') or r.get('tok_per_s') for r in rows if (r.get('tokens_per_s') or r.get('tok_per_s'))]
print(sum(vals[len(vals)//4:])/max(1,len(vals[len(vals)//4:])))")
printf "%-28s %12s %8s\n" "engine" "tokens/s" "ratio"
printf "%-28s %12.0f %8s\n" "attn fp32" "$attn_tps" "1.00"
for mode in "" "--bf16"; do
  best=0; name=""
  for policy in "" PASSIVE; do
    if [ -z "$policy" ]; then run=(env -u OMP_WAIT_POLICY); else run=(env OMP_WAIT_POLICY=$policy); fi
    line=$("${run[@]}" "$PY" "$ROOT/bench/peers/torch_gpt_train.py" --data "$DATA" $SHAPE \
      --steps "$STEPS" --threads "$THREADS" $mode 2>/dev/null | tail -1)
    tps=$(python3 -c "import json; print(json.loads('''$line''')['tokens_per_s'])")
    if python3 -c "import sys; sys.exit(0 if $tps > $best else 1)"; then best=$tps; name=$(python3 -c "import json; print(json.loads('''$line''')['peer'])"); fi
  done
  printf "%-28s %12.0f %8.2f\n" "$name" "$best" "$(python3 -c "print($attn_tps / $best)")"
done
