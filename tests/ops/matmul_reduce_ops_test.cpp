// tests/ops/matmul_reduce_ops_test.cpp — matmul/linear (views, broadcasting, 1-D operands),
// embedding, reductions, concat/split/chunk and to_dtype against direct float64 formulas.
#include <attn/dtype.h>
#include <attn/ops.h>
#include <attn/threads.h>

#include "ops/ops_test_util.h"

namespace attn {
namespace {
using test::close_to;
using test::expect_error;
using test::rand_tensor;

// Σ_k a[..., i, k] · b[..., k, j] with a, b already expanded to the batch.
double dot(const Tensor& a, const Tensor& b, std::span<const int64_t> idx) {
  const size_t n = idx.size();
  std::vector<int64_t> ia(idx.begin(), idx.end()), ib(idx.begin(), idx.end());
  double s = 0;
  for (int64_t k = 0; k < a.size(-1); ++k) {
    ia[n - 1] = k;
    ib[n - 2] = k;
    s += a.get(ia) * b.get(ib);
  }
  return s;
}

TEST(MatmulOps, BatchedBroadcastAndViews) {
  struct Case {
    Shape a, b, out;
    bool ta, tb;  // build a / b as transposed views
  };
  const Case cases[] = {
      {{3, 4}, {4, 5}, {3, 5}, false, false},        {{3, 4}, {4, 5}, {3, 5}, true, true},
      {{2, 1, 3, 4}, {5, 4, 6}, {2, 5, 3, 6}, false, false}, {{2, 7, 3, 4}, {4, 6}, {2, 7, 3, 6}, false, true},
      {{6, 33, 17}, {6, 17, 9}, {6, 33, 9}, true, false}, {{1, 1}, {1, 1}, {1, 1}, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.a) + " @ " + shape_str(c.b));
    Tensor a = rand_tensor(c.a, 20), b = rand_tensor(c.b, 21);
    if (c.ta) a = transpose_last2(transpose_last2(a).contiguous());  // same values, transposed layout
    if (c.tb) b = transpose_last2(transpose_last2(b).contiguous());
    Shape ab = c.out, bb = c.out;
    ab.back() = a.size(-1), bb[bb.size() - 2] = b.size(-2);
    const Tensor ae = a.expand(ab), be = b.expand(bb);
    EXPECT_TRUE(close_to(matmul(a, b), c.out, [&](auto i) { return dot(ae, be, i); }, 1e-5, 1e-5));
  }
}

TEST(MatmulOps, OneDimensionalOperands) {
  const Tensor m = rand_tensor({3, 4}, 22), v = rand_tensor({4}, 23), w = rand_tensor({3}, 24);
  EXPECT_TRUE(close_to(matmul(m, v), {3}, [&](auto i) {
    double s = 0;
    for (int64_t k = 0; k < 4; ++k) s += m.get({i[0], k}) * v.get({k});
    return s;
  }, 1e-6, 1e-6));
  EXPECT_TRUE(close_to(matmul(w, m), {4}, [&](auto i) {
    double s = 0;
    for (int64_t k = 0; k < 3; ++k) s += w.get({k}) * m.get({k, i[0]});
    return s;
  }, 1e-6, 1e-6));
  EXPECT_EQ(matmul(v, v).dim(), 0);
}

TEST(MatmulOps, Errors) {
  expect_error<ShapeError>([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); },
                           {"matmul", "[2,3]", "[4,5]", "a.size(-1)=3"});
  expect_error<ShapeError>([] { matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 5})); }, {"matmul", "batch"});
  expect_error<ShapeError>([] { linear(Tensor::zeros({2, 3}), Tensor::zeros({5, 4})); }, {"linear", "[2,3]", "[5,4]"});
  expect_error<ShapeError>([] { linear(Tensor::zeros({2, 4}), Tensor::zeros({5, 4}), Tensor::zeros({4})); },
                           {"linear", "bias", "[4]"});
}

TEST(LinearOps, WithAndWithoutBias) {
  const Tensor x = rand_tensor({2, 5, 8}, 25), w = rand_tensor({6, 8}, 26), b = rand_tensor({6}, 27);
  auto ref = [&](std::span<const int64_t> i, bool bias) {
    double s = bias ? b.get({i[2]}) : 0.0;
    for (int64_t k = 0; k < 8; ++k) s += x.get({i[0], i[1], k}) * w.get({i[2], k});
    return s;
  };
  EXPECT_TRUE(close_to(linear(x, w, b), {2, 5, 6}, [&](auto i) { return ref(i, true); }, 1e-5, 1e-5));
  EXPECT_TRUE(close_to(linear(x, w), {2, 5, 6}, [&](auto i) { return ref(i, false); }, 1e-5, 1e-5));
  const Tensor xt = x.transpose(0, 1);  // [5,2,8] non-contiguous
  EXPECT_TRUE(close_to(linear(xt, w, b), {5, 2, 6}, [&](auto i) {
    const int64_t j[3] = {i[1], i[0], i[2]};
    return ref(j, true);
  }, 1e-5, 1e-5));
}

TEST(EmbeddingOps, LookupAndOutOfRange) {
  const Tensor table = rand_tensor({10, 7}, 28);
  for (DType t : {DType::kI32, DType::kI64}) {
    Tensor ids = Tensor::zeros({2, 3}, t);
    for (int64_t i = 0; i < 6; ++i) ids.set({i / 3, i % 3}, static_cast<double>((i * 7) % 10));
    EXPECT_TRUE(close_to(embedding(ids, table), {2, 3, 7},
                         [&](auto i) { return table.get({static_cast<int64_t>(ids.get({i[0], i[1]})), i[2]}); }, 0, 0));
    ids.set({1, 1}, 10);
    expect_error<ShapeError>([&] { embedding(ids, table); }, {"embedding", "id 10", "position 4", "10)"});
    ids.set({1, 1}, -1);
    expect_error<ShapeError>([&] { embedding(ids, table); }, {"id -1"});
  }
  expect_error<ShapeError>([&] { embedding(Tensor::zeros({2}), table); }, {"embedding", "i32 or i64", "f32"});
}

TEST(ReduceOps, SumMeanMaxOverEachDim) {
  const Tensor x = rand_tensor({3, 4, 5}, 29);
  for (int64_t dim : {0, 1, 2, -1}) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    for (bool keep : {false, true}) {
      auto fold = [&](std::span<const int64_t> i, int what) {
        std::vector<int64_t> j;
        for (int64_t k = 0, src = 0; k < 3; ++k) j.push_back(k == d ? 0 : i[keep ? k : src++]);
        double s = 0, m = -INFINITY;
        for (j[d] = 0; j[d] < x.size(d); ++j[d]) s += x.get(j), m = std::max(m, x.get(j));
        return what == 0 ? s : what == 1 ? s / x.size(d) : m;
      };
      Shape out = x.shape();
      if (keep) out[d] = 1;
      else out.erase(out.begin() + d);
      EXPECT_TRUE(close_to(sum(x, dim, keep), out, [&](auto i) { return fold(i, 0); }, 1e-6, 1e-6));
      EXPECT_TRUE(close_to(mean(x, dim, keep), out, [&](auto i) { return fold(i, 1); }, 1e-6, 1e-6));
      EXPECT_TRUE(close_to(max(x, dim, keep), out, [&](auto i) { return fold(i, 2); }, 0, 0));
    }
  }
  double total = 0;
  for (double v : x.to_vector_f64()) total += v;
  EXPECT_NEAR(sum_all(x).item(), total, 1e-5);
  EXPECT_NEAR(mean_all(x.transpose(0, 2)).item(), total / 60, 1e-6);
  expect_error<ShapeError>([&] { sum(x, -4); }, {"sum", "dim -4", "[3,4,5]"});
}

TEST(ReduceOps, SumAllSameBitsForAnyThreadCount) {
  const Tensor x = rand_tensor({300, 1001}, 30);
  const int saved = num_threads();
  set_num_threads(1);
  const double one = sum_all(x).item();
  set_num_threads(2);
  const double two = sum_all(x).item();
  set_num_threads(saved);
  EXPECT_EQ(one, two);
}

TEST(ShapeOps, ConcatSplitChunk) {
  const Tensor a = rand_tensor({2, 3}, 31), b = rand_tensor({2, 5}, 32);
  const Tensor c = concat({a, b.transpose(0, 1).contiguous().transpose(0, 1)}, 1);
  EXPECT_TRUE(close_to(c, {2, 8}, [&](auto i) { return i[1] < 3 ? a.get(i) : b.get({i[0], i[1] - 3}); }, 0, 0));
  const auto parts = split(c, {3, 5}, -1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_TRUE(close_to(parts[1], {2, 5}, [&](auto i) { return b.get(i); }, 0, 0));
  const auto chunks = chunk(c, 3, 1);  // 8 -> 3, 3, 2
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2].size(1), 2);
  const Tensor ids = concat({Tensor::from_vector_i64({1, 2}, {2}), Tensor::from_vector_i64({3}, {1})}, 0);
  EXPECT_EQ(ids.dtype(), DType::kI64);
  EXPECT_EQ(ids.get({2}), 3.0);
  expect_error<ShapeError>([&] { concat({a, Tensor::zeros({3, 5})}, 1); }, {"concat", "[3,5]", "[2,3]"});
  expect_error<ShapeError>([&] { split(c, {3, 4}, 1); }, {"split", "7", "8"});
}

TEST(ConvertOps, ToDtypeMatchesScalarConversions) {
  Tensor x = rand_tensor({3, 129}, 33, -70000, 70000);
  x.set({0, 0}, 65520.0);  // rounds to f16 inf
  for (DType t : {DType::kBF16, DType::kF16}) {
    const Tensor h = to_dtype(x.transpose(0, 1), t);
    EXPECT_EQ(h.dtype(), t);
    const Tensor back = to_dtype(h, DType::kF32);
    EXPECT_TRUE(close_to(back, {129, 3}, [&](auto i) {
      const float v = static_cast<float>(x.get({i[1], i[0]}));
      return t == DType::kBF16 ? bf16_to_f32(f32_to_bf16(v)) : f16_to_f32(f32_to_f16(v));
    }, 0, 0));
  }
  const Tensor i = to_dtype(Tensor::from_vector({1.5f, -2.5f}, {2}), DType::kI64);
  EXPECT_EQ(i.dtype(), DType::kI64);
  const Tensor same = to_dtype(x, DType::kF32);
  EXPECT_NE(same.raw_data(), x.raw_data());  // always a fresh tensor
}

}  // namespace
}  // namespace attn
