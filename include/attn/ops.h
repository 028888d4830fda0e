// attn/ops.h — Tensor-level math: Tensor in, fresh Tensor out; each op records its backward (attn/autograd.h).
//
//   Tensor x = Tensor::zeros({B, T, C});
//   Tensor h = attn::linear(x, w, b);                    // w: [out,in] like torch; b optional
//   Tensor p = attn::softmax(attn::matmul(q, attn::transpose_last2(k)), -1);
//   Tensor y = attn::layer_norm(x, gamma, beta, 1e-5f);
//   Tensor e = attn::embedding(ids, table);              // ids i32/i64 [...], table [V,C] -> [...,C]
//
// Rules every op follows:
//   - Float ops take and return f32 (convert other float dtypes with to_dtype first); index inputs
//     (embedding ids) are i32 or i64; conditions/masks (where, masked_fill) may be any dtype, with
//     non-zero meaning true.
//   - Inputs may be non-contiguous views (transposes, slices, stride-0 broadcasts); outputs are fresh
//     contiguous tensors that never alias an input.
//   - Binary ops broadcast numpy-style; `dim` arguments accept negative values (-1 = last).
//   - Bad input throws attn::ShapeError naming the op and both shapes (or the dtype), e.g.
//     "matmul: a [2,3] and b [4,5] do not fit: a.size(-1)=3 != b.size(-2)=4".
//   - Computation is dispatched once per call to the best SIMD target (see kernels/dispatch.h;
//     ATTN_CPU_TARGET forces one) and threaded over rows with attn::num_threads().
// One source file per op family in src/ops/ (matmul.cpp, elementwise.cpp, norm.cpp, ...), each op's
// backward beside its forward. Exception to "fresh": dropout with p = 0 returns x itself.
#pragma once

#include <attn/rng.h>
#include <attn/tensor.h>

#include <cstdint>
#include <vector>

namespace attn {

// ---- matrix products (ops/matmul.cpp) ----
// a: [...,M,K]  b: [...,K,N] -> [...,M,N]; leading dims broadcast. 1-D a is [K] -> treated as [1,K]
// and the M dim dropped; 1-D b is [K] -> [K,1] and the N dim dropped (numpy/torch rules).
Tensor matmul(const Tensor& a, const Tensor& b);
// x: [...,in]  w: [out,in]  b: [out] (may be undefined) -> [...,out]   (y = x·wᵀ + b, like torch)
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

// How linear() multiplies f32 operands on the calling thread (default kF32). kBF16 rounds x and w
// (and, in the backward, the output gradient) to bf16 and accumulates the products in f32, on
// AVX512-BF16 / AMX through oneDNN where the CPU has them: the mixed precision of
// torch.autocast("cpu", torch.bfloat16) for linear layers. Parameters, activations and gradients
// stay f32; a linear's backward runs in the precision its forward ran in; matmul() is always f32.
//   { attn::MatmulPrecisionScope bf16(attn::MatmulPrecision::kBF16); loss = step(model); }
enum class MatmulPrecision { kF32, kBF16 };
MatmulPrecision matmul_precision();
class MatmulPrecisionScope {  // sets the calling thread's precision until the scope ends
 public:
  explicit MatmulPrecisionScope(MatmulPrecision p);
  ~MatmulPrecisionScope();
  MatmulPrecisionScope(const MatmulPrecisionScope&) = delete;
  MatmulPrecisionScope& operator=(const MatmulPrecisionScope&) = delete;

 private:
  MatmulPrecision previous_;
};

// ---- element-wise (ops/elementwise.cpp) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float s);
Tensor sub(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);
Tensor div(const Tensor& a, float s);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);

// ---- activations (ops/activation.cpp) ----
enum class GeluApprox { kNone, kTanh };  // kNone: x·Φ(x) with erf; kTanh: the GPT-2 tanh formula
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::kNone);
Tensor silu(const Tensor& x);     // x·sigmoid(x)
Tensor relu(const Tensor& x);

// The MLP of a transformer block as one op: linear(act(linear(x, w1, b1)), w2, b2); x [..., C],
// w1 [F, C], b1 [F], w2 [O, F], b2 [O] (biases optional) -> [..., O]. Values and gradients are those
// of the composition, bit for bit, in either matmul precision. Under MatmulPrecision::kBF16 it is
// one node: the activation writes the second linear's bf16 input directly and its backward writes
// the first linear's bf16 output gradient and bias gradient in one pass (no f32 [rows, F] tensor
// between the GEMMs).
enum class MlpActivation { kRelu, kGelu, kGeluTanh, kSilu };  // kGelu: erf; kGeluTanh: GPT-2's
Tensor mlp(const Tensor& x, const Tensor& w1, const Tensor& b1, MlpActivation act, const Tensor& w2,
           const Tensor& b2 = Tensor());
Tensor sigmoid(const Tensor& x);

// ---- softmax family (ops/softmax.cpp); max-subtracted, an all -inf row gives zeros ----
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);  // an all -inf row gives -inf

// ---- normalisation over the last dim (ops/norm.cpp) ----
// x: [...,C]  weight, bias: [C] (either may be undefined = 1 / 0) -> [...,C]
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// Same, also returning what the backward pass needs: mean and rstd, both [...] (x without C), f32.
struct LayerNormResult {
  Tensor y, mean, rstd;
};
LayerNormResult layer_norm_with_stats(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// x: [...,C]  weight: [C] (may be undefined) -> x / sqrt(mean(x²) + eps) · weight
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps = 1e-6f);

// ---- lookup (ops/embedding.cpp) ----
// ids: i32/i64 [...]  table: f32 [V,C] -> [...,C]. An id outside [0,V) throws ShapeError naming the
// id, its position and V.
Tensor embedding(const Tensor& ids, const Tensor& table);

// ---- reductions (ops/reduce.cpp) ----
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
// Sum of every element as a 0-d f32 tensor; the same bits for any thread count (fixed chunk order,
// float64 combination of chunk partials).
Tensor sum_all(const Tensor& x);
Tensor mean_all(const Tensor& x);

// ---- shape ops that copy (ops/shape.cpp) ----
// All inputs share dtype and every size except `dim`. Any dtype.
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
// Views (no copy), sizes summing to x.size(dim).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// n views of ceil(size/n) (the last may be smaller), like torch.chunk.
std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t dim);
// [...,M,N] -> [...,N,M] view (convenience for matmul(q, transpose_last2(k))).
Tensor transpose_last2(const Tensor& x);

// ---- selection (ops/where.cpp) ----
// cond ? a : b, all three broadcast together; a, b f32.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` where mask != 0; mask broadcasts to x's shape. value may be ±inf.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

// ---- dropout (ops/dropout.cpp) ----
// Zeroes each element with probability p and scales the rest by 1/(1-p) (inverted dropout). The
// keep decision of element i is Philox(seed, first + i) with `first` reserved from rng, so a given
// Rng state gives the same mask on any thread count. p == 0 returns x itself. p in [0, 1).
// Differentiable: the backward replays the same draws (dx = g·mask/(1-p)); no mask is stored.
Tensor dropout(const Tensor& x, float p, Rng& rng);

// ---- dtype (ops/convert.cpp) ----
// Any dtype to any dtype; float<->bf16/f16 round to nearest even (vectorised); float->int truncates.
Tensor to_dtype(const Tensor& x, DType dtype);

}  // namespace attn
