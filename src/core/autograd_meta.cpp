// core/autograd_meta.cpp — the recording half of autograd: grad mode, Tensor's autograd
// accessors, record(), and the backward of the views core defines. The engine that runs backward
// is in src/autograd/.
#include <attn/autograd.h>

namespace attn {

namespace {
thread_local bool grad_mode_enabled = true;

Edge edge_of(const Tensor& t) {
  const auto& m = t.autograd_meta();
  if (!t.defined() || !m || !m->requires_grad) return {};
  if (m->grad_fn) return {.node = m->grad_fn, .index = m->output_index};
  return {.leaf = m};
}
}  // namespace

bool GradMode::enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool on) { grad_mode_enabled = on; }

std::vector<Tensor> Node::apply(const std::vector<Tensor>& grad_outputs) {
  ATTN_CHECK(fn_ != nullptr, Error,
             "autograd: backward through {} a second time; its saved tensors were freed (pass retain_graph)", name_);
  std::vector<bool> needs(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) needs[i] = inputs[i].valid();
  return fn_(grad_outputs, needs);
}

namespace autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const std::string& name, const std::vector<Tensor>& inputs, const std::vector<Tensor*>& outputs,
            Node::BackwardFn fn) {
  auto node = std::make_shared<Node>(name, std::move(fn));
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) node->inputs.push_back(edge_of(t));
  for (size_t i = 0; i < outputs.size(); ++i) {
    Tensor* out = outputs[i];
    node->outputs.push_back({out->shape(), out->dtype()});
    auto meta = std::make_shared<AutogradMeta>();
    meta->requires_grad = true;
    meta->grad_fn = node;
    meta->output_index = static_cast<int>(i);
    out->set_autograd_meta(std::move(meta));
  }
}

}  // namespace autograd

// ---- Tensor's autograd accessors ----

bool Tensor::requires_grad() const { return autograd_ && autograd_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  ATTN_CHECK(defined(), ValueError, "set_requires_grad: undefined tensor");
  ATTN_CHECK(is_leaf(), ValueError,
             "set_requires_grad: {} was made by {}; only leaves can change it (use detach())", str(),
             autograd_->grad_fn->name());
  ATTN_CHECK(!on || dtype_is_float(dtype_), ShapeError, "set_requires_grad: {} is not a float tensor", str());
  if (!autograd_) autograd_ = std::make_shared<AutogradMeta>();
  autograd_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return !autograd_ || !autograd_->grad_fn; }

Tensor Tensor::grad() const { return autograd_ ? autograd_->grad : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  ATTN_CHECK(!g.defined() || g.shape() == shape_, ShapeError, "set_grad: gradient {} for tensor {}", g.str(), str());
  if (!autograd_) autograd_ = std::make_shared<AutogradMeta>();
  autograd_->grad = g;
}

Tensor Tensor::detach() const {
  Tensor t = *this;
  t.autograd_ = nullptr;
  return t;
}

Tensor Tensor::finish_view(Tensor view, const char* name, std::function<Tensor(const Tensor&)> backward) const {
  view.autograd_ = nullptr;
  if (autograd::needs_grad({this})) {
    autograd::record(name, {*this}, {&view},
                     [backward = std::move(backward)](const std::vector<Tensor>& g, const std::vector<bool>&) {
                       return std::vector<Tensor>{backward(g[0])};
                     });
  }
  return view;
}

}  // namespace attn
