// ops/attention_params.cpp — see attention_params.h.
#include "ops/attention_params.h"

#include <attn/error.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attn::ops_detail {

using kernels::AttentionParams;

namespace {

Tensor as_f32_rows(const Tensor& t) {
  Tensor f = t.dtype() == DType::kF32 ? t : t.to(DType::kF32);
  return f.stride(-1) == 1 || f.size(-1) <= 1 ? f : f.contiguous();
}

void check_qk(const Tensor& q, const Tensor& k, const char* what) {
  ATTN_CHECK(q.defined() && k.defined(), ValueError, "{}: q and k must be defined", what);
  ATTN_CHECK(q.dim() == 4, ShapeError, "{}: q must be [B,H,T,D], got {}", what, shape_str(q.shape()));
  ATTN_CHECK(k.dim() == 4, ShapeError, "{}: k must be [B,Hkv,S,D], got {}", what, shape_str(k.shape()));
  ATTN_CHECK(dtype_is_float(q.dtype()) && q.dtype() == k.dtype(), ShapeError,
             "{}: q and k must share one float dtype, q is {} {} and k is {} {}", what, dtype_name(q.dtype()),
             shape_str(q.shape()), dtype_name(k.dtype()), shape_str(k.shape()));
  ATTN_CHECK(q.size(0) == k.size(0) && q.size(3) == k.size(3), ShapeError,
             "{}: q {} and k {} must agree on B and D", what, shape_str(q.shape()), shape_str(k.shape()));
  ATTN_CHECK(k.size(1) > 0 && q.size(1) % k.size(1) == 0, ShapeError,
             "{}: heads of q {} must be a multiple of heads of k {} (H % Hkv == 0)", what, shape_str(q.shape()),
             shape_str(k.shape()));
  ATTN_CHECK(q.size(3) > 0, ShapeError, "{}: head dim D must be > 0, q is {}", what, shape_str(q.shape()));
}

void check_options(const AttentionOptions& o, const Shape& qs, const Shape& ks, const char* what) {
  const int64_t B = qs[0], H = qs[1], T = qs[2], S = ks[2];
  ATTN_CHECK(std::isfinite(o.scale) && o.scale >= 0.0, ValueError, "{}: scale must be finite and >= 0, got {}", what,
             o.scale);
  ATTN_CHECK(std::isfinite(o.softcap) && o.softcap >= 0.0f, ValueError, "{}: softcap must be >= 0, got {}", what,
             o.softcap);
  ATTN_CHECK(o.dropout_p >= 0.0f && o.dropout_p < 1.0f, ValueError, "{}: dropout_p must be in [0, 1), got {}", what,
             o.dropout_p);
  ATTN_CHECK(o.window_left >= -1 && o.window_right >= -1, ValueError,
             "{}: window extents must be >= -1 (unbounded), got left {} and right {}", what, o.window_left,
             o.window_right);
  if (o.key_lengths.defined()) {
    const Tensor& l = o.key_lengths;
    ATTN_CHECK((l.dtype() == DType::kI32 || l.dtype() == DType::kI64) && l.dim() == 1 && l.size(0) == B, ShapeError,
               "{}: key_lengths must be i32/i64 [B] = [{}], got {}", what, B, l.str());
    const std::vector<double> lens = l.to_vector_f64();  // B values: cheap next to the attention itself
    for (int64_t b = 0; b < B; ++b)
      ATTN_CHECK(lens[b] >= 0 && lens[b] <= static_cast<double>(S), ValueError,
                 "{}: key_lengths[{}] = {} is outside [0, S = {}]", what, b, lens[b], S);
  }
  if (o.alibi_slopes.defined()) {
    const Tensor& a = o.alibi_slopes;
    ATTN_CHECK(a.dtype() == DType::kF32 && a.dim() == 1 && a.size(0) == H, ShapeError,
               "{}: alibi_slopes must be f32 [H] = [{}], got {}", what, H, a.str());
  }
  if (o.mask.defined()) {
    const Tensor& m = o.mask;
    const Shape full{B, H, T, S};
    bool ok = m.dim() <= 4;
    for (int64_t d = 0; ok && d < m.dim(); ++d) {
      const int64_t want = full[4 - m.dim() + d];
      ok = m.size(d) == want || m.size(d) == 1;
    }
    ATTN_CHECK(ok, ShapeError, "{}: mask {} does not broadcast to [B,H,T,S] = {}", what, shape_str(m.shape()),
               shape_str(full));
  }
}

// Boolean (integer) masks become additive 0/-inf; float masks become f32. Broadcast by strides.
Tensor mask_as_additive(const Tensor& m) {
  if (dtype_is_float(m.dtype())) return m.dtype() == DType::kF32 ? m : m.to(DType::kF32);
  const Tensor c = m.contiguous();
  Tensor out = Tensor::empty(c.shape(), DType::kF32);
  float* dst = out.data<float>();
  const float ninf = -std::numeric_limits<float>::infinity();
  if (c.dtype() == DType::kI32) {
    const int32_t* src = c.data<int32_t>();
    for (int64_t i = 0; i < c.numel(); ++i) dst[i] = src[i] != 0 ? 0.0f : ninf;
  } else {
    const int64_t* src = c.data<int64_t>();
    for (int64_t i = 0; i < c.numel(); ++i) dst[i] = src[i] != 0 ? 0.0f : ninf;
  }
  return out;
}

}  // namespace

void set_strides(int64_t* dst, const Tensor& t) {
  for (int d = 0; d < 3; ++d) dst[d] = t.stride(d);
}

Tensor empty_in_layout(const Shape& shape, const Strides& strides) {
  const int64_t n = static_cast<int64_t>(shape.size());
  if (n == 0 || strides[static_cast<size_t>(n - 1)] != 1) return Tensor::empty(shape);
  // Dims by decreasing stride (the last stays last), then a dense tensor in that order, permuted back.
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t d = 0; d < n; ++d) order[static_cast<size_t>(d)] = d;
  std::stable_sort(order.begin(), order.end() - 1, [&](int64_t a, int64_t b) {
    return strides[static_cast<size_t>(a)] > strides[static_cast<size_t>(b)];
  });
  Shape dense;
  for (int64_t d : order) dense.push_back(shape[static_cast<size_t>(d)]);
  std::vector<int64_t> back(static_cast<size_t>(n));  // dense dim i holds dim order[i]
  for (int64_t i = 0; i < n; ++i) back[static_cast<size_t>(order[static_cast<size_t>(i)])] = i;
  return Tensor::empty(dense).permute(back);
}

Tensor empty_rows_like(const Tensor& like) { return empty_in_layout(like.shape(), like.strides()); }

std::optional<std::array<Tensor, 3>> fused_qkv_grads(const Tensor& q, const Tensor& k, const Tensor& v) {
  if (!q.defined() || !k.defined() || !v.defined() || q.dim() != 4 || q.dtype() != DType::kF32 ||
      k.dtype() != DType::kF32 || v.dtype() != DType::kF32 || q.storage() != k.storage() ||
      q.storage() != v.storage() || q.strides() != k.strides() || q.strides() != v.strides() ||
      q.size(0) != k.size(0) || q.size(2) != k.size(2) || q.size(3) != k.size(3) || q.stride(3) != 1)
    return std::nullopt;
  const int64_t H = q.size(1), Hkv = k.size(1), hs = q.stride(1);
  if (k.offset() != q.offset() + H * hs || v.offset() != k.offset() + Hkv * hs) return std::nullopt;
  // The joint [B, H+2Hkv, T, D] must be a dense, non-overlapping layout for the slices to be its own.
  const Shape joint_shape{q.size(0), H + 2 * Hkv, q.size(2), q.size(3)};
  std::vector<int64_t> order{0, 1, 2};
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return q.stride(a) > q.stride(b); });
  int64_t expect = q.size(3);
  for (int64_t i = 2; i >= 0; --i) {
    const int64_t d = order[static_cast<size_t>(i)];
    if (joint_shape[static_cast<size_t>(d)] != 1 && q.stride(d) != expect) return std::nullopt;
    expect *= joint_shape[static_cast<size_t>(d)];
  }
  const Tensor joint = empty_in_layout(joint_shape, q.strides());
  return std::array<Tensor, 3>{joint.narrow(1, 0, H), joint.narrow(1, H, Hkv), joint.narrow(1, H + Hkv, Hkv)};
}

AttentionParams make_attention_params(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o,
                                      AttentionHold& hold, const char* what) {
  check_qk(q, k, what);
  if (v.defined()) {
    ATTN_CHECK(v.shape() == k.shape(), ShapeError, "{}: v {} must have k's shape {}", what, shape_str(v.shape()),
               shape_str(k.shape()));
    ATTN_CHECK(v.dtype() == k.dtype(), ShapeError, "{}: v is {} but k is {}", what, v.str(), k.str());
  }
  check_options(o, q.shape(), k.shape(), what);
  hold.q = as_f32_rows(q);
  hold.k = as_f32_rows(k);
  AttentionParams p;
  p.q = hold.q.data<float>();
  p.k = hold.k.data<float>();
  set_strides(p.q_stride, hold.q);
  set_strides(p.k_stride, hold.k);
  if (v.defined()) {
    hold.v = as_f32_rows(v);
    p.v = hold.v.data<float>();
    set_strides(p.v_stride, hold.v);
  }
  p.B = q.size(0), p.H = q.size(1), p.T = q.size(2), p.D = q.size(3), p.Hkv = k.size(1), p.S = k.size(2);
  p.scale = o.scale > 0.0 ? static_cast<float>(o.scale) : static_cast<float>(1.0 / std::sqrt(double(p.D)));
  p.causal = o.causal;
  p.offset = o.offset.value_or(p.S - p.T);
  if (o.key_lengths.defined()) {
    hold.lengths = o.key_lengths.to(DType::kI64).contiguous();
    p.key_lengths = hold.lengths.data<int64_t>();
  }
  if (o.mask.defined()) {
    hold.mask = mask_as_additive(o.mask).expand({p.B, p.H, p.T, p.S});
    p.mask = hold.mask.data<float>();
    for (int d = 0; d < 4; ++d) p.mask_stride[d] = hold.mask.size(d) == 1 ? 0 : hold.mask.stride(d);
  }
  p.window_left = o.window_left;
  p.window_right = o.window_right;
  if (o.alibi_slopes.defined()) {
    hold.alibi = o.alibi_slopes.contiguous();
    p.alibi_slopes = hold.alibi.data<float>();
  }
  p.softcap = o.softcap;
  p.dropout_p = o.dropout_p;
  p.dropout_seed = o.dropout_seed;
  p.dropout_offset = o.dropout_offset;
  return p;
}


}  // namespace attn::ops_detail
