// nn/additive_attention.cpp — single-head score-based attention: Bahdanau (additive) and Luong
// (dot, general). Scores are built with ops, masked with -inf (never multiplied), softmaxed over
// the keys (an all-masked row gives zeros), and the context is weights · values.
#include <attn/nn/attention.h>
#include <attn/ops.h>

#include <limits>

namespace attn {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_qkv(std::string_view who, const Tensor& q, int64_t Cq, const Tensor& k, int64_t Ck, const Tensor& values) {
  ATTN_CHECK(q.defined() && q.dim() == 3 && q.size(2) == Cq, ShapeError, "{}: q is {}, wants [B,T,{}]", who,
             tensor_shape_str(q), Cq);
  ATTN_CHECK(k.defined() && k.dim() == 3 && k.size(0) == q.size(0) && k.size(2) == Ck, ShapeError,
             "{}: keys are {}, want [{},S,{}]", who, tensor_shape_str(k), q.size(0), Ck);
  ATTN_CHECK(values.defined() && values.dim() == 3 && values.size(0) == k.size(0) && values.size(1) == k.size(1),
             ShapeError, "{}: values are {}, want [{},{},Cv] to match keys {}", who, tensor_shape_str(values), k.size(0),
             k.size(1), tensor_shape_str(k));
}
}  // namespace

AttendResult attend_scores(const Tensor& scores, const Tensor& values, const AttendInputs& in, std::string_view who) {
  // scores: [B,T,S]  values: [B,S,Cv]
  const int64_t B = scores.size(0), S = scores.size(2);
  Tensor e = scores;
  const Tensor neg_inf = Tensor::full({1}, kNegInf);
  if (in.key_lengths.defined()) {
    ATTN_CHECK(in.key_lengths.dim() == 1 && in.key_lengths.size(0) == B, ShapeError,
               "{}: key_lengths {} must be [B] = [{}]", who, tensor_shape_str(in.key_lengths), B);
    e = where(key_lengths_mask(in.key_lengths, S).unsqueeze(1), e, neg_inf);  // [B,1,S]
  }
  if (in.mask.defined()) {
    e = in.mask.dtype() == DType::kF32 ? add(e, in.mask) : where(in.mask, e, neg_inf);
  }
  AttendResult r;
  r.weights = softmax(e, -1);
  r.context = matmul(r.weights, values);
  return r;
}

// ---- Bahdanau ----
AdditiveAttention::AdditiveAttention(const AdditiveAttentionConfig& cfg, std::string name)
    : Module(std::move(name)),
      cfg_(cfg),
      query_proj_({.in = cfg.query_dim, .out = cfg.attn_dim, .bias = cfg.bias}, child_name("query_proj")),
      key_proj_({.in = cfg.key_dim, .out = cfg.attn_dim, .bias = false}, child_name("key_proj")),
      v_({.in = cfg.attn_dim, .out = 1, .bias = false}, child_name("v")) {
  register_module("query_proj", query_proj_);
  register_module("key_proj", key_proj_);
  register_module("v", v_);
}

Tensor AdditiveAttention::project_keys(const Tensor& k) const { return key_proj_.forward(k); }

AttendResult AdditiveAttention::forward(const Tensor& q, const Tensor& k, const Tensor& values,
                                        const AttendInputs& in) const {
  check_qkv(label(), q, cfg_.query_dim, k, cfg_.key_dim, values);
  return forward_projected(q, project_keys(k), values, in);
}

AttendResult AdditiveAttention::forward_projected(const Tensor& q, const Tensor& projected_keys, const Tensor& values,
                                                  const AttendInputs& in) const {
  check_qkv(label(), q, cfg_.query_dim, projected_keys, cfg_.attn_dim, values);
  const Tensor wq = query_proj_.forward(q).unsqueeze(2);  // [B,T,1,A]
  const Tensor wk = projected_keys.unsqueeze(1);           // [B,1,S,A]
  const Tensor e = v_.forward(tanh(add(wq, wk))).squeeze(-1);  // [B,T,S,A] -> [B,T,S]
  return attend_scores(e, values, in, label());
}

// ---- Luong ----
LuongAttention::LuongAttention(const LuongAttentionConfig& cfg, std::string name)
    : Module(std::move(name)), cfg_(cfg) {
  if (cfg_.key_dim == 0) cfg_.key_dim = cfg_.query_dim;
  ATTN_CHECK(cfg_.query_dim > 0 && cfg_.key_dim > 0, ConfigError, "{}: query_dim {} and key_dim {} must be positive",
             label(), cfg_.query_dim, cfg_.key_dim);
  ATTN_CHECK(cfg_.score == LuongScore::kGeneral || cfg_.key_dim == cfg_.query_dim, ConfigError,
             "{}: dot score needs key_dim == query_dim, got {} and {}", label(), cfg_.key_dim, cfg_.query_dim);
  if (cfg_.score == LuongScore::kGeneral) {
    key_proj_ = std::make_unique<Linear>(LinearConfig{.in = cfg_.key_dim, .out = cfg_.query_dim, .bias = false},
                                         child_name("key_proj"));
    register_module("key_proj", *key_proj_);
  }
}

AttendResult LuongAttention::forward(const Tensor& q, const Tensor& k, const Tensor& values,
                                     const AttendInputs& in) const {
  check_qkv(label(), q, cfg_.query_dim, k, cfg_.key_dim, values);
  const Tensor keys = key_proj_ ? key_proj_->forward(k) : k;  // [B,S,Cq]
  return attend_scores(matmul(q, transpose_last2(keys)), values, in, label());
}

}  // namespace attn
