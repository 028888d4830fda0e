#!/usr/bin/env python3
"""PyTorch peer for bench/attention: times torch.nn.functional.scaled_dot_product_attention (fp32).

    OMP_WAIT_POLICY=PASSIVE venv/bin/python bench/peers/torch_sdpa.py --threads 2 --d 64 --causal 1 --t 512,1024

Prints one JSON object per size: {"T":..., "D":..., "causal":..., "ms": best wall time, "cpu_ms": CPU time
(all threads) of that call, "version": ...}. CPU time makes the comparison usable on a shared machine.
Shapes match bench/attention: B = 1, H heads, q/k/v [B,H,T,D], T = S. Run by bench/attention --peers;
installed by scripts/bench-setup.sh. Never used by the tests.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def best_ms(fn, min_seconds):
    """(best wall ms, best CPU ms) over repeats until min_seconds have passed (at least two)."""
    fn()  # warm-up
    best, best_cpu, total, n = float("inf"), float("inf"), 0.0, 0
    while total < min_seconds or n < 2:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best, best_cpu, total, n = min(best, dt), min(best_cpu, dc), total + dt, n + 1
    return best * 1e3, best_cpu * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--h", type=int, default=12)
    ap.add_argument("--causal", type=int, default=0)
    ap.add_argument("--t", default="512,1024,2048,4096,8192")
    ap.add_argument("--min-seconds", type=float, default=0.5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for t in [int(x) for x in a.t.split(",")]:
        q, k, v = (torch.randn(1, a.h, t, a.d) for _ in range(3))
        with torch.inference_mode():
            ms, cpu_ms = best_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=bool(a.causal)),
                                 a.min_seconds)
        print(json.dumps({"T": t, "D": a.d, "causal": a.causal, "ms": ms, "cpu_ms": cpu_ms,
                          "version": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
