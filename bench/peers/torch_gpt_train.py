#!/usr/bin/env python3
"""PyTorch peer for bench/train.sh: the same character-level GPT as attn's models/gpt (pre-norm,
learned positions, tied head, GELU, AdamW, grad clip 1.0), trained on random windows of the same text
for a fixed number of steps; prints one JSON line with tokens/s.

    python bench/peers/torch_gpt_train.py --data FILE --layers 4 --heads 4 --dim 128 --block 64 \
        --batch 12 --steps 50 --threads 2 [--bf16] [--compile]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Gpt(nn.Module):
    def __init__(self, V, P, C, H, L, dropout):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(P, C)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(C, H, 4 * C, dropout=dropout, activation="gelu",
                                                                batch_first=True, norm_first=True)
                                     for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.register_buffer("mask", torch.triu(torch.ones(P, P, dtype=torch.bool), 1))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.drop(self.wte(ids) + self.wpe(torch.arange(T)))
        for layer in self.layers:
            x = layer(x, src_mask=self.mask[:T, :T], is_causal=True)
        return self.ln_f(x) @ self.wte.weight.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup-steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    a = ap.parse_args()
    torch.manual_seed(1337)
    torch.set_num_threads(a.threads)
    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))
    idx = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([idx[c] for c in text[: int(0.9 * len(text))]], dtype=torch.long)
    model = Gpt(len(chars), a.block, a.dim, a.heads, a.layers, a.dropout)
    if a.compile:
        model = torch.compile(model)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3)

    def step():
        ix = torch.randint(len(data) - a.block - 1, (a.batch,))
        x = torch.stack([data[i:i + a.block] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + a.block] for i in ix])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(a.warmup_steps):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    dt = time.perf_counter() - t0
    print(json.dumps({"peer": "torch " + torch.__version__ + (" bf16" if a.bf16 else " fp32") +
                      (" compile" if a.compile else " eager"), "tokens_per_s": a.steps * a.batch * a.block / dt,
                      "loss": loss}))


if __name__ == "__main__":
    main()
