#include <attn/tensor.h>
#include <gtest/gtest.h>

#include <cmath>

namespace attn {
namespace {

TEST(Tensor, CreationAndAccess) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dim(), 2);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.at<float>({1, 2}), 6.0f);
  EXPECT_EQ(t.str(), "f32[2,3]");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(Tensor::empty({3}).raw_data()) % 64, 0u);
  EXPECT_EQ(Tensor::zeros({4}).to_vector(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(Tensor::full({2}, 2.5).to_vector(), std::vector<float>(2, 2.5f));
}

TEST(Tensor, TransposeIsAViewAndContiguousCopies) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor tt = t.transpose(0, 1);
  EXPECT_EQ(tt.shape(), (Shape{3, 2}));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.storage(), t.storage());
  EXPECT_EQ(tt.to_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage(), t.storage());
  EXPECT_EQ(c.at<float>({2, 1}), 6.0f);
}

TEST(Tensor, SliceSelectNarrow) {
  Tensor t = Tensor::arange(24).view({2, 3, 4});
  EXPECT_EQ(t.slice(2, 1, 3).to_vector(), (std::vector<float>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}));
  EXPECT_EQ(t.select(1, 2).to_vector(), (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
  EXPECT_EQ(t.slice(2, 0, 4, 2).select(0, 1).to_vector(), (std::vector<float>{12, 14, 16, 18, 20, 22}));
  EXPECT_EQ(t.narrow(0, 1, 1).numel(), 12);
  EXPECT_EQ(t.slice(-1, -1, 4).to_vector().size(), 6u);
  EXPECT_THROW(t.select(1, 3), ShapeError);
}

TEST(Tensor, PermuteReshapeView) {
  Tensor t = Tensor::arange(24).view({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.at<float>({3, 1, 2}), 23.0f);
  EXPECT_THROW(p.view({24}), ShapeError);
  Tensor r = p.reshape({-1});
  EXPECT_EQ(r.numel(), 24);
  EXPECT_EQ(r.at<float>({1}), 4.0f);
  EXPECT_THROW(t.reshape({5, -1}), ShapeError);
  EXPECT_THROW(t.view({-1, -1}), ShapeError);
  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(t.unsqueeze(3).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(t.unsqueeze(0).squeeze(0).shape(), (Shape{2, 3, 4}));
  EXPECT_THROW(t.squeeze(0), ShapeError);
}

TEST(Tensor, ExpandBroadcastsWithZeroStrides) {
  Tensor row = Tensor::from_vector({1, 2, 3}, {3});
  Tensor e = row.expand({2, 3});
  EXPECT_EQ(e.stride(0), 0);
  EXPECT_EQ(e.to_vector(), (std::vector<float>{1, 2, 3, 1, 2, 3}));
  EXPECT_THROW(row.expand({2, 4}), ShapeError);
  Tensor dst = Tensor::zeros({2, 3});
  dst.copy_from(row);
  EXPECT_EQ(dst.to_vector(), e.to_vector());
  EXPECT_EQ(broadcast_shapes({2, 1, 3}, {4, 1}), (Shape{2, 4, 3}));
  try {
    broadcast_shapes({2, 3}, {4});
    FAIL();
  } catch (const ShapeError& err) {
    EXPECT_NE(std::string(err.what()).find("[2,3] and [4]"), std::string::npos) << err.what();
  }
}

TEST(Tensor, CopyIntoNonContiguousView) {
  Tensor t = Tensor::zeros({3, 3});
  Tensor col = t.slice(1, 1, 2);
  col.copy_from(Tensor::from_vector({7, 8, 9}, {3, 1}));
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 7, 0, 0, 8, 0, 0, 9, 0}));
  t.transpose(0, 1).select(0, 0).fill(-1);
  EXPECT_EQ(t.at<float>({2, 0}), -1.0f);
  // Unit-stride rows on both sides (a block of a wider buffer from a permuted source: copied row by
  // row), a source in another storage, and one in the same storage (which may overlap).
  Tensor wide = Tensor::zeros({2, 3, 5});
  Tensor src = Tensor::arange(24).view({3, 2, 4}).permute({1, 0, 2});  // [2,3,4], rows of 4
  wide.narrow(2, 1, 4).copy_from(src);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      EXPECT_EQ(wide.at<float>({i, j, 0}), 0.0f);
      for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(wide.at<float>({i, j, c + 1}), src.at<float>({i, j, c}));
    }
  Tensor same = Tensor::arange(12).view({3, 4});
  same.narrow(1, 1, 3).copy_from(same.narrow(1, 0, 3));  // shift right by one within each row
  EXPECT_EQ(same.to_vector(), (std::vector<float>{0, 0, 1, 2, 4, 4, 5, 6, 8, 8, 9, 10}));
}

TEST(Tensor, DtypeConversions) {
  Tensor t = Tensor::from_vector({1.5f, -2.0f, 65504.0f, 1e-8f}, {4});
  Tensor b = t.to(DType::kBF16);
  EXPECT_EQ(b.dtype(), DType::kBF16);
  EXPECT_EQ(b.nbytes(), 8u);
  EXPECT_EQ(b.to(DType::kF32).at<float>({0}), 1.5f);
  Tensor h = t.to(DType::kF16);
  EXPECT_EQ(h.to(DType::kF32).at<float>({2}), 65504.0f);
  Tensor i = Tensor::from_vector_i64({3, -4}, {2});
  EXPECT_EQ(i.to(DType::kF32).to_vector(), (std::vector<float>{3, -4}));
  EXPECT_THROW(t.data<int64_t>(), ShapeError);
  EXPECT_THROW(Tensor().raw_data(), ValueError);
}

TEST(Tensor, OverflowingShapesAreRejected) {
  EXPECT_THROW(Tensor::empty({int64_t{1} << 40, int64_t{1} << 40}), ShapeError);
  EXPECT_THROW(Tensor::empty({-1}), ShapeError);
  EXPECT_THROW(Tensor::from_vector({1, 2}, {3}), ShapeError);
}

TEST(Tensor, StridedCopyOfLargeTensorMatchesIndexing) {
  Tensor t = Tensor::arange(2 * 5 * 7 * 3).view({2, 5, 7, 3});
  Tensor p = t.permute({3, 1, 0, 2}).contiguous();
  for_each_index(p.shape(), [&](std::span<const int64_t> i) {
    ASSERT_EQ(p.get(i), t.get({i[2], i[1], i[3], i[0]}));
  });
}

}  // namespace
}  // namespace attn
