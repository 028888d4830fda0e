#!/usr/bin/env python3
"""Writes the goldens for tests/nn/: small PyTorch computations with their inputs, weights and outputs.

    /usr/bin/python3 scripts/make_nn_goldens.py          # rewrites tests/golden/nn/*.json

Needs torch (Debian's python3-torch 1.13 is enough); the tests that read these files need no Python.

Each file is JSON: {"meta": {...}, "tensors": {name: {"shape": [...], "dtype": "f64"|"i64", "data": [...]}}}
(bool masks are written as i64 0/1 in torch's meaning: 1 = masked).
Weights are stored under the parameter names of attn's modules (the script maps torch's names), so a
test loads them with Module::load_state() and exercises the name binding too. Inputs and weights are
float32 values (stored exactly); expected outputs are computed in float64 from those same values, so
the golden is a precise reference for an fp32 implementation.

Where torch 1.13 has no module (RMSNorm, RoPE, ALiBi, GQA, additive attention, SwiGLU), the formula
is written out below in torch, following the reference implementations named in each comment.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "nn")


def f32(t):
    """Rounds to float32 values, held in float64 so the reference math is exact for them."""
    return t.detach().to(torch.float32).to(torch.float64)


def rand(gen, *shape, scale=1.0):
    return f32(torch.randn(*shape, generator=gen, dtype=torch.float64) * scale)


def enc(t):
    t = t.detach()
    if t.dtype == torch.bool:
        t = t.to(torch.int64)
    data = t.reshape(-1).tolist()
    if t.dtype.is_floating_point:
        data = [float(x) if math.isfinite(x) else ("-inf" if x < 0 else "inf") for x in data]
    return {"shape": list(t.shape), "dtype": "f64" if t.dtype.is_floating_point else "i64", "data": data}


def write(name, meta, tensors):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump({"meta": meta, "tensors": {k: enc(v) for k, v in tensors.items()}}, f,
                  separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def randomize(module, gen, scale=0.5):
    """Overwrites every parameter with float32-valued normals (LayerNorm weights near 1)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + rand(gen, *p.shape, scale=0.1))
            else:
                p.copy_(rand(gen, *p.shape, scale=scale))
    return module


def mha_params(prefix, mha, fused=False):
    """torch.nn.MultiheadAttention parameters under attn's names (q_proj/k_proj/v_proj/o_proj)."""
    E = mha.embed_dim
    w, b = mha.in_proj_weight, mha.in_proj_bias
    out = {}
    if fused:
        out[prefix + "qkv_proj.weight"] = w
        if b is not None:
            out[prefix + "qkv_proj.bias"] = b
    else:
        for i, n in enumerate(["q_proj", "k_proj", "v_proj"]):
            out[prefix + n + ".weight"] = w[i * E:(i + 1) * E]
            if b is not None:
                out[prefix + n + ".bias"] = b[i * E:(i + 1) * E]
    out[prefix + "o_proj.weight"] = mha.out_proj.weight
    if mha.out_proj.bias is not None:
        out[prefix + "o_proj.bias"] = mha.out_proj.bias
    return out


def causal_bool(T, S):
    """torch convention: True = not allowed. Query i sees keys j <= i + S - T."""
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(S).unsqueeze(0)
    return j > i + (S - T)


def padding_bool(lengths, S):
    return torch.arange(S).unsqueeze(0) >= torch.tensor(lengths).unsqueeze(1)


# ---------------------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------------------
def gen_mha():
    gen = torch.Generator().manual_seed(1)
    B, T, S, E, H = 2, 5, 6, 8, 2
    # Self-attention: key padding (lengths 5 and 3) + causal bool mask; weights per head.
    for fused in (False, True):
        mha = randomize(nn.MultiheadAttention(E, H, batch_first=True), gen).double().eval()
        x = rand(gen, B, T, E)
        lengths = [5, 3]
        kpm = padding_bool(lengths, T)
        am = causal_bool(T, T)
        y, w = mha(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=True,
                   average_attn_weights=False)
        t = {"x": x, "key_lengths": torch.tensor(lengths), "key_padding_mask": kpm, "attn_mask": am,
             "y": y, "weights": w}
        t.update(mha_params("", mha, fused))
        write("mha_self_fused" if fused else "mha_self",
              {"d_model": E, "n_heads": H, "bias": True, "fused_qkv": fused, "causal": True}, t)

    # Cross-attention without bias: additive float mask [T,S] + key padding.
    mha = randomize(nn.MultiheadAttention(E, H, batch_first=True, bias=False), gen).double().eval()
    q = rand(gen, B, T, E)
    mem = rand(gen, B, S, E)
    lengths = [6, 4]
    kpm = padding_bool(lengths, S)
    am = rand(gen, T, S)
    y, w = mha(q, mem, mem, key_padding_mask=kpm, attn_mask=am, need_weights=True,
               average_attn_weights=False)
    t = {"q": q, "memory": mem, "key_lengths": torch.tensor(lengths), "key_padding_mask": kpm,
         "attn_mask": am, "y": y, "weights": w}
    t.update(mha_params("", mha))
    write("mha_cross", {"d_model": E, "n_heads": H, "bias": False, "fused_qkv": False}, t)


def gen_mha_gqa():
    """Grouped-query attention written out (Llama-style repeat of K/V heads); torch 1.13 has no GQA."""
    gen = torch.Generator().manual_seed(2)
    B, T, C, H, Hkv = 2, 5, 16, 4, 2
    D = C // H
    wq, wk, wv, wo = (rand(gen, H * D, C, scale=0.3), rand(gen, Hkv * D, C, scale=0.3),
                      rand(gen, Hkv * D, C, scale=0.3), rand(gen, C, H * D, scale=0.3))
    x = rand(gen, B, T, C)
    q = (x @ wq.T).view(B, T, H, D).transpose(1, 2)
    k = (x @ wk.T).view(B, T, Hkv, D).transpose(1, 2).repeat_interleave(H // Hkv, dim=1)
    v = (x @ wv.T).view(B, T, Hkv, D).transpose(1, 2).repeat_interleave(H // Hkv, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    s = s.masked_fill(causal_bool(T, T), float("-inf"))
    w = s.softmax(-1)
    y = (w @ v).transpose(1, 2).reshape(B, T, C) @ wo.T
    write("mha_gqa", {"d_model": C, "n_heads": H, "n_kv_heads": Hkv, "bias": False, "causal": True},
          {"x": x, "q_proj.weight": wq, "k_proj.weight": wk, "v_proj.weight": wv,
           "o_proj.weight": wo, "y": y, "weights": w})


def gen_mha_alibi():
    """ALiBi (Press et al.): scores - slope_h * (i - j) on the causal part, slopes from alibi_slopes."""
    gen = torch.Generator().manual_seed(9)
    B, T, C, H = 1, 6, 12, 6
    D = C // H
    ws = [rand(gen, C, C, scale=0.3) for _ in range(4)]
    x = rand(gen, B, T, C)
    q, k, v = [(x @ w.T).view(B, T, H, D).transpose(1, 2) for w in ws[:3]]
    slopes = torch.tensor(alibi_slopes(H), dtype=torch.float64).view(1, H, 1, 1)
    dist = (torch.arange(T).view(1, T) - torch.arange(T).view(T, 1)).to(torch.float64)  # j - i
    s = q @ k.transpose(-1, -2) / math.sqrt(D) + slopes * dist
    s = s.masked_fill(causal_bool(T, T), float("-inf"))
    w = s.softmax(-1)
    y = (w @ v).transpose(1, 2).reshape(B, T, C) @ ws[3].T
    write("mha_alibi", {"d_model": C, "n_heads": H, "bias": False, "causal": True, "alibi": True},
          {"x": x, "q_proj.weight": ws[0], "k_proj.weight": ws[1], "v_proj.weight": ws[2],
           "o_proj.weight": ws[3], "y": y})


def gen_llama_block():
    """A Llama decoder layer written out as Hugging Face's LlamaDecoderLayer computes it: RMSNorm,
    GQA with half-split RoPE, causal, SwiGLU, pre-norm residuals, no biases."""
    gen = torch.Generator().manual_seed(10)
    B, T, C, H, Hkv, F_, theta, eps = 2, 5, 16, 4, 2, 24, 10000.0, 1e-6
    D = C // H
    p = {"self_attn.q_proj.weight": rand(gen, H * D, C, scale=0.3),
         "self_attn.k_proj.weight": rand(gen, Hkv * D, C, scale=0.3),
         "self_attn.v_proj.weight": rand(gen, Hkv * D, C, scale=0.3),
         "self_attn.o_proj.weight": rand(gen, C, H * D, scale=0.3),
         "self_attn_norm.weight": 1.0 + rand(gen, C, scale=0.1),
         "ffn.gate_proj.weight": rand(gen, F_, C, scale=0.3),
         "ffn.up_proj.weight": rand(gen, F_, C, scale=0.3),
         "ffn.down_proj.weight": rand(gen, C, F_, scale=0.3),
         "ffn_norm.weight": 1.0 + rand(gen, C, scale=0.1)}
    x = rand(gen, B, T, C)

    def rms(t, w):
        return t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + eps) * w

    offset = 3  # positions 3..7, as after a 3-token prompt in a KV cache (keys start at 3 too)
    pos = torch.arange(offset, offset + T)
    h = rms(x, p["self_attn_norm.weight"])
    q = (h @ p["self_attn.q_proj.weight"].T).view(B, T, H, D).transpose(1, 2)
    k = (h @ p["self_attn.k_proj.weight"].T).view(B, T, Hkv, D).transpose(1, 2)
    v = (h @ p["self_attn.v_proj.weight"].T).view(B, T, Hkv, D).transpose(1, 2)
    q, k = rope_half(q, pos, theta, D), rope_half(k, pos, theta, D)
    k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)
    s = (q @ k.transpose(-1, -2) / math.sqrt(D)).masked_fill(causal_bool(T, T), float("-inf"))
    a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C) @ p["self_attn.o_proj.weight"].T
    h = x + a
    m = rms(h, p["ffn_norm.weight"])
    y = h + (F.silu(m @ p["ffn.gate_proj.weight"].T) * (m @ p["ffn.up_proj.weight"].T)) @ p["ffn.down_proj.weight"].T
    t = {"x": x, "y": y}
    t.update(p)
    write("block_llama", {"d_model": C, "n_heads": H, "n_kv_heads": Hkv, "d_ff": F_, "theta": theta,
                          "eps": eps, "position_offset": offset}, t)


# ---------------------------------------------------------------------------------------------------
# Transformer layers
# ---------------------------------------------------------------------------------------------------
def encoder_params(layer):
    t = mha_params("self_attn.", layer.self_attn)
    t.update({"ffn.up_proj.weight": layer.linear1.weight, "ffn.up_proj.bias": layer.linear1.bias,
              "ffn.down_proj.weight": layer.linear2.weight, "ffn.down_proj.bias": layer.linear2.bias,
              "self_attn_norm.weight": layer.norm1.weight, "self_attn_norm.bias": layer.norm1.bias,
              "ffn_norm.weight": layer.norm2.weight, "ffn_norm.bias": layer.norm2.bias})
    return t


def gen_encoder():
    gen = torch.Generator().manual_seed(3)
    B, T, E, H, F_ = 2, 5, 8, 2, 16
    for norm_first in (False, True):
        for act in ("relu", "gelu"):
            layer = nn.TransformerEncoderLayer(E, H, F_, dropout=0.0, activation=act,
                                               batch_first=True, norm_first=norm_first)
            layer = randomize(layer, gen).double().eval()
            x = rand(gen, B, T, E)
            lengths = [5, 4]
            kpm = padding_bool(lengths, T)
            y = layer(x, src_key_padding_mask=kpm)
            t = {"x": x, "key_lengths": torch.tensor(lengths), "key_padding_mask": kpm, "y": y}
            t.update(encoder_params(layer))
            name = f"encoder_{'prenorm' if norm_first else 'postnorm'}_{act}"
            write(name, {"d_model": E, "n_heads": H, "d_ff": F_, "norm_first": norm_first,
                         "activation": act, "eps": 1e-5}, t)


def gen_decoder():
    gen = torch.Generator().manual_seed(4)
    B, T, S, E, H, F_ = 2, 5, 6, 8, 2, 16
    for norm_first in (False, True):
        layer = nn.TransformerDecoderLayer(E, H, F_, dropout=0.0, activation="relu",
                                           batch_first=True, norm_first=norm_first)
        layer = randomize(layer, gen).double().eval()
        x = rand(gen, B, T, E)
        mem = rand(gen, B, S, E)
        lengths = [6, 2]
        mkpm = padding_bool(lengths, S)
        y = layer(x, mem, tgt_mask=causal_bool(T, T), memory_key_padding_mask=mkpm)
        t = {"x": x, "memory": mem, "memory_lengths": torch.tensor(lengths),
             "memory_key_padding_mask": mkpm, "y": y}
        t.update(mha_params("self_attn.", layer.self_attn))
        t.update(mha_params("cross_attn.", layer.multihead_attn))
        t.update({"ffn.up_proj.weight": layer.linear1.weight, "ffn.up_proj.bias": layer.linear1.bias,
                  "ffn.down_proj.weight": layer.linear2.weight,
                  "ffn.down_proj.bias": layer.linear2.bias,
                  "self_attn_norm.weight": layer.norm1.weight, "self_attn_norm.bias": layer.norm1.bias,
                  "cross_attn_norm.weight": layer.norm2.weight,
                  "cross_attn_norm.bias": layer.norm2.bias,
                  "ffn_norm.weight": layer.norm3.weight, "ffn_norm.bias": layer.norm3.bias})
        name = f"decoder_{'prenorm' if norm_first else 'postnorm'}"
        write(name, {"d_model": E, "n_heads": H, "d_ff": F_, "norm_first": norm_first,
                     "activation": "relu", "eps": 1e-5, "causal": True}, t)


# ---------------------------------------------------------------------------------------------------
# Norms and feed-forward
# ---------------------------------------------------------------------------------------------------
def gen_norms():
    gen = torch.Generator().manual_seed(5)
    C = 12
    ln = nn.LayerNorm(C, eps=1e-5).double()
    with torch.no_grad():
        ln.weight.copy_(1.0 + rand(gen, C, scale=0.1))
        ln.bias.copy_(rand(gen, C, scale=0.1))
    x = rand(gen, 3, 4, C, scale=2.0) + 0.5
    write("layer_norm", {"dim": C, "eps": 1e-5},
          {"x": x, "weight": ln.weight, "bias": ln.bias, "y": ln(x)})
    # RMSNorm as in Llama (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight.
    w = 1.0 + rand(gen, C, scale=0.1)
    eps = 1e-6
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
    write("rms_norm", {"dim": C, "eps": eps}, {"x": x, "weight": w, "y": y})


def gen_ffn():
    gen = torch.Generator().manual_seed(6)
    B, T, C, F_ = 2, 3, 8, 12
    x = rand(gen, B, T, C)
    # SwiGLU (Shazeer 2020, Llama): down(silu(gate(x)) * up(x)), no biases.
    wg, wu, wd = rand(gen, F_, C, scale=0.4), rand(gen, F_, C, scale=0.4), rand(gen, C, F_, scale=0.4)
    y = (F.silu(x @ wg.T) * (x @ wu.T)) @ wd.T
    write("ffn_swiglu", {"d_model": C, "d_ff": F_, "activation": "swiglu", "bias": False},
          {"x": x, "gate_proj.weight": wg, "up_proj.weight": wu, "down_proj.weight": wd, "y": y})
    # GELU MLP with biases, both the erf and the tanh approximation.
    w1, b1, w2, b2 = (rand(gen, F_, C, scale=0.4), rand(gen, F_, scale=0.4),
                      rand(gen, C, F_, scale=0.4), rand(gen, C, scale=0.4))
    for approx in ("none", "tanh"):
        y = F.gelu(x @ w1.T + b1, approximate=approx) @ w2.T + b2
        write(f"ffn_gelu_{'erf' if approx == 'none' else 'tanh'}",
              {"d_model": C, "d_ff": F_, "activation": "gelu", "approximate": approx, "bias": True},
              {"x": x, "up_proj.weight": w1, "up_proj.bias": b1, "down_proj.weight": w2,
               "down_proj.bias": b2, "y": y})


# ---------------------------------------------------------------------------------------------------
# Positional encodings
# ---------------------------------------------------------------------------------------------------
def gen_sinusoidal():
    """The Annotated Transformer's table (Vaswani et al. 3.5): interleaved sin/cos columns."""
    for P, d in ((50, 16), (7, 5)):
        pe = torch.zeros(P, d, dtype=torch.float64)
        position = torch.arange(0, P, dtype=torch.float64).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * -(math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d // 2])
        write(f"sinusoidal_{P}x{d}", {"max_len": P, "dim": d}, {"pe": pe})


def rope_inv_freq(rot, theta):
    return 1.0 / (theta ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))


def rope_half(x, pos, theta, rot):
    """Hugging Face Llama / GPT-NeoX: pairs (j, j + rot/2); rotate_half = cat(-x2, x1)."""
    inv = rope_inv_freq(rot, theta)
    freqs = pos.to(torch.float64).unsqueeze(1) * inv.unsqueeze(0)  # [T, rot/2]
    emb = torch.cat([freqs, freqs], dim=-1)                          # [T, rot]
    cos, sin = emb.cos(), emb.sin()
    xr, xp = x[..., :rot], x[..., rot:]
    x1, x2 = xr[..., : rot // 2], xr[..., rot // 2:]
    rotated = torch.cat([-x2, x1], dim=-1)
    return torch.cat([xr * cos + rotated * sin, xp], dim=-1)


def rope_interleaved(x, pos, theta, rot):
    """GPT-J / RoFormer / Meta's original Llama: pairs (2j, 2j + 1)."""
    inv = rope_inv_freq(rot, theta)
    freqs = pos.to(torch.float64).unsqueeze(1) * inv.unsqueeze(0)  # [T, rot/2]
    cos = freqs.cos().repeat_interleave(2, dim=-1)
    sin = freqs.sin().repeat_interleave(2, dim=-1)
    xr, xp = x[..., :rot], x[..., rot:]
    rotated = torch.stack([-xr[..., 1::2], xr[..., 0::2]], dim=-1).flatten(-2)
    return torch.cat([xr * cos + rotated * sin, xp], dim=-1)


def gen_rope():
    gen = torch.Generator().manual_seed(7)
    B, H, T, D = 2, 3, 5, 8
    x = rand(gen, B, H, T, D)
    for pairing, fn in (("half", rope_half), ("interleaved", rope_interleaved)):
        for theta, offset, rot in ((10000.0, 0, D), (500000.0, 7, D), (10000.0, 3, 4)):
            pos = torch.arange(offset, offset + T)
            y = fn(x, pos, theta, rot)
            name = f"rope_{pairing}_theta{int(theta)}_off{offset}_rot{rot}"
            write(name, {"pairing": pairing, "theta": theta, "offset": offset, "rotary_dim": rot},
                  {"x": x, "y": y})


def alibi_slopes(n):
    """Press et al., github.com/ofirpress/attention_with_linear_biases (fairseq get_slopes)."""
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + alibi_slopes(2 * closest)[0::2][: n - closest]


def gen_alibi():
    counts = list(range(1, 17)) + [20, 24, 32, 40, 64, 96]
    write("alibi_slopes", {"counts": counts},
          {f"slopes_{n}": torch.tensor(alibi_slopes(n), dtype=torch.float64) for n in counts})


# ---------------------------------------------------------------------------------------------------
# Additive (Bahdanau) and Luong attention, written in torch
# ---------------------------------------------------------------------------------------------------
def gen_additive():
    """Bahdanau et al. 2015: e[t,s] = v^T tanh(W1 q_t + W2 k_s); softmax over unmasked s."""
    gen = torch.Generator().manual_seed(8)
    B, T, S, Cq, Ck, A, Cv = 2, 3, 6, 5, 7, 4, 7
    q, k = rand(gen, B, T, Cq), rand(gen, B, S, Ck)
    values = rand(gen, B, S, Cv)
    w1, b1 = rand(gen, A, Cq, scale=0.5), rand(gen, A, scale=0.5)
    w2, v = rand(gen, A, Ck, scale=0.5), rand(gen, 1, A, scale=0.5)
    lengths = [6, 4]
    e = (torch.tanh((q @ w1.T + b1).unsqueeze(2) + (k @ w2.T).unsqueeze(1)) @ v.T).squeeze(-1)
    e = e.masked_fill(padding_bool(lengths, S).unsqueeze(1), float("-inf"))
    w = e.softmax(-1)
    ctx = w @ values
    write("additive_attention", {"query_dim": Cq, "key_dim": Ck, "attn_dim": A},
          {"q": q, "k": k, "values": values, "key_lengths": torch.tensor(lengths),
           "query_proj.weight": w1, "query_proj.bias": b1, "key_proj.weight": w2, "v.weight": v,
           "context": ctx, "weights": w})
    # Luong et al. 2015: dot q.k and general q.(W k); same masking.
    C = 5
    q, k = rand(gen, B, T, C), rand(gen, B, S, C)
    wa = rand(gen, C, C, scale=0.5)
    for score in ("dot", "general"):
        e = q @ k.transpose(1, 2) if score == "dot" else q @ (k @ wa.T).transpose(1, 2)
        e = e.masked_fill(padding_bool(lengths, S).unsqueeze(1), float("-inf"))
        w = e.softmax(-1)
        t = {"q": q, "k": k, "values": values, "key_lengths": torch.tensor(lengths),
             "context": w @ values, "weights": w}
        if score == "general":
            t["key_proj.weight"] = wa
        write(f"luong_{score}", {"score": score, "dim": C}, t)


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    gen_mha()
    gen_mha_gqa()
    gen_mha_alibi()
    gen_llama_block()
    gen_encoder()
    gen_decoder()
    gen_norms()
    gen_ffn()
    gen_sinusoidal()
    gen_rope()
    gen_alibi()
    gen_additive()
