// attn/attn.h — the umbrella header: everything public in one include.
//
//   #include <attn/attn.h>
//   attn::Tensor x = attn::Tensor::zeros({2, 3});
//
// Link the CMake targets of the layers you use (attn_core ... attn_train); the umbrella only saves
// listing headers.
#pragma once

// core
#include <attn/allocator.h>
#include <attn/autograd.h>
#include <attn/dtype.h>
#include <attn/error.h>
#include <attn/profile.h>
#include <attn/rng.h>
#include <attn/tensor.h>
#include <attn/threads.h>
#include <attn/version.h>
// ops, autograd, optim
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/gradcheck.h>
#include <attn/loss.h>
#include <attn/ops.h>
#include <attn/optim.h>
// modules and models
#include <attn/model.h>
#include <attn/nn.h>
// files and text
#include <attn/char_tokenizer.h>
#include <attn/gguf.h>
#include <attn/hf_config.h>
#include <attn/safetensors.h>
#include <attn/tokenizer.h>
// training, generation, pictures
#include <attn/generate.h>
#include <attn/loss_curve.h>
#include <attn/train.h>
#include <attn/viz.h>
