// attn/autograd.h — reverse-mode automatic differentiation: recorded history, backward(), grad mode.
//
//   Tensor w = Tensor::zeros({3, 4}).set_requires_grad();
//   Tensor y = sum_all(mul(matmul(x, w.transpose(0, 1)), 2.0f));   // ops record as they run
//   backward(y);                                                   // w.grad(): [3,4]
//   { NoGradGuard no_grad; Tensor z = matmul(x, w.transpose(0, 1)); }  // nothing recorded
//
// How it works (PyTorch's design, cut down):
//   - A Tensor that requires grad carries an AutogradMeta: for a leaf, the place its gradient
//     accumulates; for an op's output, the Node that made it (grad_fn) and which of the node's
//     outputs it is.
//   - An op that sees an input requiring grad (while GradMode is on) computes its result, then
//     record()s a Node holding what its backward needs (detached tensors, so no reference cycles)
//     and edges to its inputs' nodes. Views (slice, transpose, reshape, expand, ...) record too.
//   - backward(root) walks the graph from root's node in an order where every node runs after all
//     its consumers (Kahn's algorithm over dependency counts, ties broken by discovery order), so
//     gradients are accumulated in the same order every time: results do not depend on threads.
//
// The Node type lives in core so that ops (which sit below the autograd layer) can record; the
// engine that runs backward lives in the autograd layer (src/autograd/), which may use ops.
#pragma once

#include <attn/tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attn {

class Node;

// Where a gradient flows: into output `index` of `node`, or into a leaf's accumulator.
struct Edge {
  std::shared_ptr<Node> node;
  int index = 0;
  std::shared_ptr<AutogradMeta> leaf;
  bool valid() const { return node != nullptr || leaf != nullptr; }
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                    // leaves: accumulated gradient
  std::shared_ptr<Node> grad_fn;  // non-leaves: the node that produced this tensor
  int output_index = 0;
};

class Node {
 public:
  using BackwardFn =
      std::function<std::vector<Tensor>(const std::vector<Tensor>& grad_outputs, const std::vector<bool>& needs)>;

  Node(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  virtual ~Node() = default;

  const std::string& name() const { return name_; }
  // grad_outputs: one per output (zeros where nothing flowed back) -> one gradient per input
  // (undefined where the input needs none). Throws Error if the saved state was released.
  std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs);
  // Drops the saved tensors (after a backward without retain_graph).
  void release() { fn_ = nullptr; }

  std::vector<Edge> inputs;  // one per op input, in the op's argument order
  struct OutputInfo {
    Shape shape;
    DType dtype;
  };
  std::vector<OutputInfo> outputs;

 private:
  std::string name_;
  BackwardFn fn_;
};

// ---- grad mode ----
class GradMode {
 public:
  static bool enabled();
  static void set_enabled(bool on);
};

// Turns recording off in its scope (inference, optimizer updates, loading weights).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

namespace autograd {

// True when grad mode is on and any defined input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Marks a differentiable op's name where it is not passed to record() as a literal (ops that
// share a recording helper): the gradient table test scans the sources for grad_op("...") and
// record("...") and fails for a name without a row.
constexpr const char* grad_op(const char* name) { return name; }

// Records `fn` as the backward of an op with these inputs and outputs. Call after computing the
// outputs and only when needs_grad(inputs). fn must return one gradient per input, shaped like that
// input (undefined allowed where `needs[i]` is false). Capture saved tensors detached.
void record(const std::string& name, const std::vector<Tensor>& inputs, const std::vector<Tensor*>& outputs,
            Node::BackwardFn fn);

}  // namespace autograd

// Runs backward from `root`: every leaf in its history that requires grad gets d(root)/d(leaf) added
// to its grad(). grad_root defaults to 1 for a one-element root. The recorded nodes free their saved
// tensors unless retain_graph. Defined in the autograd layer (link attn_autograd).
void backward(const Tensor& root, const Tensor& grad_root = Tensor(), bool retain_graph = false);

}  // namespace attn
