// attn/attn.h — the umbrella header: everything public in one include.
//
//   #include <attn/attn.h>
//   attn::Tensor x = attn::Tensor::zeros({2, 3});
#pragma once

#include <attn/dtype.h>
#include <attn/error.h>
#include <attn/rng.h>
#include <attn/tensor.h>
#include <attn/threads.h>
#include <attn/version.h>
#if __has_include(<attn/ops.h>)
#include <attn/ops.h>
#endif
#if __has_include(<attn/attention.h>)
#include <attn/attention.h>
#endif
#if __has_include(<attn/nn.h>)
#include <attn/nn.h>
#endif
