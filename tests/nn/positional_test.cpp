// Positional encodings: the definitions directly, and goldens from the torch formulas.
#include <attn/nn.h>
#include <attn/ops.h>
#include <gtest/gtest.h>

#include <cmath>

#include "nn/golden.h"

namespace attn {
namespace {
using testing::all_close;
using testing::load_golden;

TEST(Sinusoidal, InterleavedSinCosAsInVaswani) {
  const int64_t P = 64, d = 16;
  const Tensor pe = sinusoidal_table(P, d);
  for (int64_t p : {0, 1, 7, 63}) {
    for (int64_t i = 0; i < d / 2; ++i) {
      const double angle = p / std::pow(10000.0, 2.0 * i / d);
      EXPECT_NEAR(pe.get({p, 2 * i}), std::sin(angle), 1e-6) << p << "," << i;
      EXPECT_NEAR(pe.get({p, 2 * i + 1}), std::cos(angle), 1e-6) << p << "," << i;
    }
  }
  // Column 0 of position 1 is sin(1), column 1 is cos(1): interleaved, not [sin...|cos...].
  EXPECT_NEAR(pe.get({1, 0}), std::sin(1.0), 1e-7);
  EXPECT_NEAR(pe.get({1, 1}), std::cos(1.0), 1e-7);
  EXPECT_EQ(pe.get({0, 0}), 0.0);
  EXPECT_EQ(pe.get({0, 1}), 1.0);
}

TEST(Sinusoidal, MatchesAnnotatedTransformerTable) {
  for (auto [name, P, d] : {std::tuple{"sinusoidal_50x16", 50, 16}, std::tuple{"sinusoidal_7x5", 7, 5}}) {
    const auto g = load_golden(name);
    EXPECT_TRUE(all_close(sinusoidal_table(P, d), g.at("pe"), 1e-6, 1e-6)) << name;
  }
  SinusoidalPositions pos({.max_positions = 50, .dim = 16});
  EXPECT_TRUE(pos.named_parameters().empty());
  EXPECT_EQ(pos.forward(3, 10).to_vector(), sinusoidal_table(50, 16).narrow(0, 10, 3).to_vector());
  EXPECT_THROW(pos.forward(3, 48), ValueError);
}

TEST(LearnedPositions, RowsAreAParameter) {
  LearnedPositions pos({.max_positions = 8, .dim = 4}, "wpe");
  Rng rng(0);
  pos.init(rng);
  EXPECT_EQ(pos.named_parameters()[0].name, "weight");
  EXPECT_EQ(pos.forward(2, 5).to_vector(), pos.forward_ids(Tensor::from_vector_i64({5, 6}, {2})).to_vector());
  EXPECT_THROW(pos.forward(4, 5), ValueError);
}

struct RopeCase {
  const char* golden;
  RopePairing pairing;
};

TEST(Rope, BothPairingsMatchTorchFormulas) {
  const char* names[] = {"theta10000_off0_rot8", "theta500000_off7_rot8", "theta10000_off3_rot4"};
  for (auto [prefix, pairing] : {std::pair{"rope_half_", RopePairing::kHalf},
                                 std::pair{"rope_interleaved_", RopePairing::kInterleaved}}) {
    for (const char* n : names) {
      const auto g = load_golden(std::string(prefix) + n);
      const Tensor x = g["x"];
      RotaryEmbedding rope({.head_dim = x.size(-1), .rotary_dim = g.meta["rotary_dim"], .theta = g.meta["theta"],
                            .pairing = pairing, .max_positions = 64});
      const int64_t offset = g.meta["offset"];
      EXPECT_TRUE(all_close(rope.forward(x, offset), g.at("y"))) << prefix << n;
      // Per-sequence positions give the same as an offset.
      std::vector<int64_t> ids;
      for (int64_t b = 0; b < x.size(0); ++b)
        for (int64_t t = 0; t < x.size(2); ++t) ids.push_back(offset + t);
      const Tensor pos = Tensor::from_vector_i64(ids, {x.size(0), x.size(2)});
      EXPECT_TRUE(all_close(rope.forward_ids(x, pos), g.at("y"))) << prefix << n << " (ids)";
    }
  }
}

// Rotations preserve each pair's norm, and q·k after RoPE depends only on the distance.
TEST(Rope, PreservesNormsAndEncodesRelativePosition) {
  Rng rng(11);
  Tensor q = Tensor::empty({1, 1, 1, 8}), k = Tensor::empty({1, 1, 1, 8});
  rng.normal_(q, 0, 1);
  rng.normal_(k, 0, 1);
  for (RopePairing pairing : {RopePairing::kHalf, RopePairing::kInterleaved}) {
    RotaryEmbedding rope({.head_dim = 8, .pairing = pairing, .max_positions = 128});
    const std::vector<float> x = q.to_vector(), y = rope.forward(q, 37).to_vector();
    for (int j = 0; j < 4; ++j) {
      const int a = pairing == RopePairing::kHalf ? j : 2 * j, b = pairing == RopePairing::kHalf ? j + 4 : 2 * j + 1;
      EXPECT_NEAR(std::hypot(x[a], x[b]), std::hypot(y[a], y[b]), 1e-5);
    }
    auto dot_at = [&](int64_t pq, int64_t pk) {
      const auto a = rope.forward(q, pq).to_vector(), b = rope.forward(k, pk).to_vector();
      double s = 0;
      for (int i = 0; i < 8; ++i) s += a[i] * b[i];
      return s;
    };
    EXPECT_NEAR(dot_at(10, 4), dot_at(60, 54), 1e-4);
    EXPECT_NEAR(dot_at(0, 0), dot_at(99, 99), 1e-4);
    EXPECT_EQ(rope.forward(q, 0).to_vector(), q.to_vector());  // position 0: identity
  }
  RotaryEmbedding small({.head_dim = 8, .max_positions = 16});
  EXPECT_THROW(small.forward(Tensor::zeros({1, 1, 4, 8}), 13), ValueError);
  EXPECT_THROW(small.forward(Tensor::zeros({1, 1, 4, 6})), ShapeError);
}

TEST(Alibi, SlopesOfThePaperAndItsReferenceCode) {
  const std::vector<float> s8 = alibi_slopes(8).to_vector();
  for (int h = 0; h < 8; ++h) EXPECT_EQ(s8[h], std::ldexp(1.0f, -(h + 1))) << h;  // 2^-1 .. 2^-8
  const auto g = load_golden("alibi_slopes");
  for (const auto& n : g.meta["counts"]) {
    const int64_t H = n;
    EXPECT_TRUE(all_close(alibi_slopes(H), g.at("slopes_" + std::to_string(H)), 1e-7, 0)) << H;
  }
  EXPECT_THROW(alibi_slopes(0), ValueError);
}

}  // namespace
}  // namespace attn
