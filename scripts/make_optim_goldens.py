#!/usr/bin/env python3
"""Goldens for attn's optimizers: torch.optim.AdamW / SGD on fixed parameters and gradients.

Writes tests/golden/optim/optim.json. Needs torch (Debian's python3-torch 1.13 is enough):
    /usr/bin/python3 scripts/make_optim_goldens.py   (Debian python3-torch; scripts/install-deps.sh --goldens)
Gradients are a deterministic function of (step, index) so the C++ test can rebuild them exactly:
    g[step][i] = sin(0.37 * (i + 1) + 0.91 * step) * (1 + 0.1 * step)   (f32)
"""
import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "optim" / "optim.json"
STEPS = 10


def grads(shape, step):
    n = 1
    for d in shape:
        n *= d
    vals = [math.sin(0.37 * (i + 1) + 0.91 * step) * (1 + 0.1 * step) for i in range(n)]
    return torch.tensor(vals, dtype=torch.float32).reshape(shape)


def params():
    w = torch.tensor([[0.5 - 0.1 * (i * 3 + j) for j in range(3)] for i in range(4)], dtype=torch.float32)
    b = torch.tensor([0.25, -0.5, 0.75, -1.0], dtype=torch.float32)
    return [w.clone().requires_grad_(), b.clone().requires_grad_()]


def run(make_opt, lrs=None):
    ps = params()
    opt = make_opt(ps)
    for step in range(STEPS):
        for p in ps:
            p.grad = grads(tuple(p.shape), step)
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[step]
        opt.step()
    return [p.detach().reshape(-1).tolist() for p in ps]


def main():
    cases = {}
    # Weight decays, bias does not: the attn default decay rule (dim >= 2).
    cases["adamw"] = run(lambda ps: torch.optim.AdamW(
        [{"params": [ps[0]], "weight_decay": 0.1}, {"params": [ps[1]], "weight_decay": 0.0}],
        lr=1e-2, betas=(0.9, 0.95), eps=1e-8))
    lrs = [1e-2 * (0.5 + 0.05 * s) for s in range(STEPS)]
    cases["adamw_lr_schedule"] = run(lambda ps: torch.optim.AdamW(
        [{"params": [ps[0]], "weight_decay": 0.1}, {"params": [ps[1]], "weight_decay": 0.0}],
        lr=1e-2, betas=(0.9, 0.999), eps=1e-6), lrs)
    cases["sgd_momentum"] = run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01))
    cases["sgd_nesterov"] = run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True))
    cases["sgd_plain"] = run(lambda ps: torch.optim.SGD(ps, lr=0.1))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"torch": torch.__version__, "steps": STEPS, "lrs": lrs, "cases": cases}, indent=1))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
