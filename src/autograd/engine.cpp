// autograd/engine.cpp — backward(): runs the recorded nodes from the root back to the leaves.
//
// 1. Discover every node reachable from root's grad_fn (iterative DFS, edges in argument order) and
//    count, per node, how many edges point at it.
// 2. Kahn's algorithm: a node runs once every consumer has handed it its gradient; ready nodes run
//    in discovery order. The order is a function of the graph alone, so accumulations happen in the
//    same order on every run and every thread count.
// 3. Each node's input gradients are added into the buffers of the nodes they flow to, or into the
//    leaves' grad. Shapes are checked at every hand-over, naming the node.
#include <attn/autograd.h>
#include <attn/ops.h>
#include <attn/profile.h>

#include <deque>
#include <unordered_map>

namespace attn {

namespace {

Tensor accumulate(const Tensor& acc, const Tensor& g) { return acc.defined() ? add(acc, g) : g; }

}  // namespace

void backward(const Tensor& root, const Tensor& grad_root, bool retain_graph) {
  ATTN_CHECK(root.defined() && root.requires_grad(), ValueError,
             "backward: {} does not require grad (no parameter or input in its history requires grad)", root.str());
  Tensor seed = grad_root;
  if (!seed.defined()) {
    ATTN_CHECK(root.numel() == 1, ShapeError,
               "backward: {} is not a scalar; pass the gradient of the output explicitly", root.str());
    seed = Tensor::full(root.shape(), 1.0, root.dtype());
  }
  ATTN_CHECK(seed.shape() == root.shape(), ShapeError, "backward: gradient {} for output {}", seed.str(), root.str());

  NoGradGuard no_grad;
  const auto& meta = root.autograd_meta();
  if (!meta->grad_fn) {  // the root is itself a leaf
    meta->grad = accumulate(meta->grad, seed).contiguous();
    return;
  }

  // 1. discovery + dependency counts
  std::vector<Node*> order;
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{meta->grad_fn.get()};
  deps[meta->grad_fn.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (const Edge& e : n->inputs) {
      if (!e.node) continue;
      auto [it, fresh] = deps.try_emplace(e.node.get(), 0);
      ++it->second;
      if (fresh) stack.push_back(e.node.get());
    }
  }

  // 2. + 3. run in dependency order, handing gradients on
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  buffers[meta->grad_fn.get()].resize(meta->grad_fn->outputs.size());
  buffers[meta->grad_fn.get()][static_cast<size_t>(meta->output_index)] = seed;
  std::deque<Node*> ready{meta->grad_fn.get()};
  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    std::vector<Tensor> grads_out = std::move(buffers[n]);
    buffers.erase(n);
    grads_out.resize(n->outputs.size());
    for (size_t i = 0; i < grads_out.size(); ++i)
      if (!grads_out[i].defined()) grads_out[i] = Tensor::zeros(n->outputs[i].shape, n->outputs[i].dtype);
    std::vector<Tensor> grads_in;
    {
      ProfileScope scope("backward", n->name());
      grads_in = n->apply(grads_out);
    }
    ATTN_CHECK(grads_in.size() == n->inputs.size(), Error, "autograd: {} returned {} gradients for {} inputs",
               n->name(), grads_in.size(), n->inputs.size());
    if (!retain_graph) n->release();
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Edge& e = n->inputs[i];
      if (!e.valid()) continue;
      const Tensor& g = grads_in[i];
      if (e.node) {
        const Shape& want = e.node->outputs[static_cast<size_t>(e.index)].shape;
        ATTN_CHECK(!g.defined() || g.shape() == want, ShapeError,
                   "autograd: {} gave input {} a gradient {}, the input is {}", n->name(), i, g.str(), shape_str(want));
        auto& buf = buffers[e.node.get()];
        buf.resize(e.node->outputs.size());
        if (g.defined()) buf[static_cast<size_t>(e.index)] = accumulate(buf[static_cast<size_t>(e.index)], g);
        if (--deps[e.node.get()] == 0) ready.push_back(e.node.get());
      } else if (g.defined()) {
        e.leaf->grad = accumulate(e.leaf->grad, g).contiguous();
      }
    }
  }
}

}  // namespace attn
