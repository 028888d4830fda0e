// The umbrella header compiles on its own and exposes every layer's main types.
#include <attn/attn.h>
#include <gtest/gtest.h>

TEST(Umbrella, EveryLayerIsReachable) {
  attn::Tensor x = attn::Tensor::zeros({1, 2, 3, 4});
  const attn::AttentionResult r = attn::attention(x, x, x, {.causal = true});
  EXPECT_EQ(r.out.shape(), x.shape());
  EXPECT_STRNE(attn::version(), "");
}
