#!/usr/bin/env python3
"""Goldens for attn's backward through whole modules: MultiheadAttention, TransformerEncoderLayer
(post- and pre-norm), a GRU over padded sequences and a tiny GPT (logits, cross-entropy) — the input gradient, every parameter gradient of one backward pass, and the
losses of 10 AdamW steps — made by PyTorch with the same weights (the llm.c test_gpt2 pattern).

    /usr/bin/python3 scripts/make_grad_goldens.py    # rewrites tests/golden/grad/*.json

The loss is L = Σ y ∘ W for a fixed random W (every output element matters). Weights and inputs are
float32 values computed in float64 (see make_nn_goldens.py, whose helpers, name maps and output folder tests/golden/nn this reuses).
Gradients are stored under attn's parameter names with the prefix "grad." ("grad.x" for the input).
AdamW: lr 1e-2, betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on parameters with >= 2 dims only.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_nn_goldens as ng  # noqa: E402

# Written beside the module goldens so tests/nn/golden.h reads them.
STEPS = 10


def grad_of(t):
    """The gradient of a parameter, or of a slice view of one (q/k/v rows of in_proj_weight)."""
    base = t._base if t._base is not None else t
    g = base.grad
    if t._base is None:
        return g
    return g.as_strided(t.shape, t.stride(), t.storage_offset())


def adamw_losses(module, params, loss_fn):
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    losses.append(loss_fn().item())
    return torch.tensor(losses, dtype=torch.float64)


def case(name, meta, module, named_fn, forward, inputs, gen):
    x = inputs["x"].clone().requires_grad_()
    y = forward(module, x)
    w = ng.rand(gen, *y.shape)
    (y * w).sum().backward()
    named = named_fn(module)
    t = dict(inputs)
    t.update({k: v.detach().clone() for k, v in named.items()})  # initial weights (attn names)
    t["loss_weight"] = w
    t["y"] = y.detach()
    t["grad.x"] = x.grad
    for k, v in named.items():
        t["grad." + k] = grad_of(v).clone()  # the optimizer below reuses the .grad buffers
    module.zero_grad()
    params = [p for p in module.parameters()]
    t["adamw_losses"] = adamw_losses(module, params, lambda: (forward(module, inputs["x"]) * w).sum())
    ng.write(name, meta, t)


def main():
    gen = torch.Generator().manual_seed(11)
    B, T, E, H, F_ = 2, 5, 8, 2, 16
    lengths = [5, 3]
    kpm = ng.padding_bool(lengths, T)

    mha = ng.randomize(nn.MultiheadAttention(E, H, batch_first=True), gen).double()
    x = ng.rand(gen, B, T, E)
    am = ng.causal_bool(T, T)
    case("mha_self_grad", {"d_model": E, "n_heads": H, "bias": True, "causal": True}, mha,
         lambda m: ng.mha_params("", m),
         lambda m, x: m(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=False)[0],
         {"x": x, "key_lengths": torch.tensor(lengths)}, gen)

    for norm_first in (False, True):
        layer = nn.TransformerEncoderLayer(E, H, F_, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=norm_first)
        layer = ng.randomize(layer, gen).double()
        x = ng.rand(gen, B, T, E)
        case(f"encoder_{'prenorm' if norm_first else 'postnorm'}_grad",
             {"d_model": E, "n_heads": H, "d_ff": F_, "norm_first": norm_first, "activation": "gelu", "eps": 1e-5},
             layer, ng.encoder_params, lambda m, x: m(x, src_key_padding_mask=kpm),
             {"x": x, "key_lengths": torch.tensor(lengths)}, gen)
    gen_gru(gen)
    gen_gpt(gen)


def gen_gru(gen):
    """torch.nn.GRU over a padded batch (packed, so padding neither updates h nor emits output)."""
    B, T, I, H = 3, 4, 5, 6
    lengths = [4, 2, 3]
    gru = ng.randomize(nn.GRU(I, H, batch_first=True), gen).double()
    x = ng.rand(gen, B, T, I)
    h0 = ng.rand(gen, B, H)

    def forward(m, x):
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, h = m(packed, h0.unsqueeze(0))
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        return torch.cat([out.reshape(B, -1), h[0]], dim=1)  # both outputs in one tensor

    case("gru_grad", {"input": I, "hidden": H, "T": T}, gru, lambda m: dict(m.named_parameters()), forward,
         {"x": x, "h0": h0, "lengths": torch.tensor(lengths)}, gen)


class TorchGpt(nn.Module):
    """attn's GPT (models/gpt) written with torch modules: pre-norm encoder layers under a causal mask,
    learned positions, final LayerNorm, output head tied to the token embedding."""

    def __init__(self, V, P, C, H, L):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(P, C)
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(C, H, 4 * C, dropout=0.0, activation="gelu",
                                                                batch_first=True, norm_first=True)
                                     for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T))
        for layer in self.layers:
            x = layer(x, src_mask=ng.causal_bool(T, T))
        return self.ln_f(x) @ self.wte.weight.T


def gpt_params(m):
    out = {"wte.weight": m.wte.weight, "wpe.weight": m.wpe.weight, "ln_f.weight": m.ln_f.weight,
           "ln_f.bias": m.ln_f.bias}
    for i, layer in enumerate(m.layers):
        out.update({f"layers.{i}.{k}": v for k, v in ng.encoder_params(layer).items()})
    return out


def gen_gpt(gen):
    """A tiny GPT: logits, cross-entropy loss, every parameter gradient, 10 AdamW steps."""
    V, P, C, H, L, B, T = 11, 8, 16, 2, 2, 2, 7
    m = ng.randomize(TorchGpt(V, P, C, H, L), gen).double()
    ids = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)

    def loss_fn():
        return F.cross_entropy(m(ids).reshape(-1, V), targets.reshape(-1))

    logits = m(ids)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()
    named = gpt_params(m)
    t = {"ids": ids, "targets": targets, "logits": logits.detach(), "loss": loss.detach().reshape(1)}
    t.update({k: v.detach().clone() for k, v in named.items()})
    for k, v in named.items():
        t["grad." + k] = grad_of(v).clone()
    m.zero_grad()
    t["adamw_losses"] = adamw_losses(m, list(m.parameters()), loss_fn)
    ng.write("gpt_tiny_grad", {"vocab_size": V, "block_size": P, "d_model": C, "n_heads": H, "n_layers": L}, t)


if __name__ == "__main__":
    main()
