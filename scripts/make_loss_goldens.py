#!/usr/bin/env python3
"""Goldens for attn's cross_entropy: torch.nn.functional.cross_entropy loss and d(loss)/d(logits).

    /usr/bin/python3 scripts/make_loss_goldens.py   (Debian python3-torch; scripts/install-deps.sh --goldens)
Writes tests/golden/ops/cross_entropy.json. Logits are a fixed formula so nothing random is stored.
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "ops" / "cross_entropy.json"


def logits(n, v, big=False):
    vals = [[math.sin(1.3 * r + 0.7 * j) * (3.0 if not big else 1e4) + 0.1 * j for j in range(v)] for r in range(n)]
    return torch.tensor(vals, dtype=torch.float32)


def case(n, v, targets, reduction, smoothing, ignore_index=-100, big=False):
    x = logits(n, v, big).requires_grad_()
    t = torch.tensor(targets, dtype=torch.int64)
    loss = F.cross_entropy(x, t, ignore_index=ignore_index, label_smoothing=smoothing, reduction=reduction)
    # For 'none', backpropagate a fixed per-row weighting so the test covers per-row scales.
    if reduction == "none":
        w = torch.tensor([0.5 + 0.25 * r for r in range(n)])
        (loss * w).sum().backward()
    else:
        loss.backward()
    return {"n": n, "v": v, "targets": targets, "reduction": reduction, "smoothing": smoothing,
            "ignore_index": ignore_index, "big": big, "loss": loss.detach().reshape(-1).tolist(),
            "grad": x.grad.reshape(-1).tolist()}


def main():
    cases = [
        case(6, 5, [0, 4, 2, -100, 1, 3], "mean", 0.0),
        case(6, 5, [0, 4, 2, -100, 1, 3], "mean", 0.1),
        case(4, 7, [6, 0, 3, 3], "sum", 0.2),
        case(4, 7, [6, 0, 3, 3], "none", 0.0),
        case(5, 3, [1, 1, 0, 2, 7], "mean", 0.0, ignore_index=7),
        case(3, 4, [0, 1, 2], "mean", 0.1, big=True),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
