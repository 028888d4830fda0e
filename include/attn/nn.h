// attn/nn.h — modules: everything in include/attn/nn/ in one include.
//
//   #include <attn/nn.h>
//   attn::Rng rng(0);
//   attn::TransformerBlock block({.d_model = 64, .n_heads = 4, .d_ff = 256, .causal = true}, "layers.0");
//   block.init(rng);
//   block.eval();
//   attn::Tensor y = block.forward(x);                 // x: [B,T,64] -> [B,T,64]
//   for (auto& p : block.named_parameters()) ...       // "self_attn.q_proj.weight", ...
//
// Modules compose ops (attn/ops.h, attn/attention.h) and never loop over elements; forward only for
// now (backward arrives with autograd). See docs/DESIGN.md, "Modules".
#pragma once

#include <attn/nn/attention.h>
#include <attn/nn/gru.h>
#include <attn/nn/layers.h>
#include <attn/nn/module.h>
#include <attn/nn/positional.h>
#include <attn/nn/transformer.h>
