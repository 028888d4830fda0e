// attn/nn/module.h — the base of every layer: named parameters, submodules, loading, init, mode.
//
//   class Mlp : public Module {
//    public:
//     explicit Mlp(std::string name = "") : Module(std::move(name)),
//         fc1_({.in = 8, .out = 32}, child_name("fc1")), fc2_({.in = 32, .out = 8}, child_name("fc2")) {
//       register_module("fc1", fc1_);
//       register_module("fc2", fc2_);
//     }
//    private:
//     Linear fc1_, fc2_;
//   };
//   Mlp mlp;
//   mlp.init(rng);                                    // deterministic, registration order
//   for (auto& p : mlp.named_parameters()) fmt::print("{} {}\n", p.name, p.tensor->str());  // fc1.weight ...
//   mlp.load_state(tensors_by_name);                  // ShapeError names the parameter and both shapes
//   mlp.eval();                                       // dropout off
//
// A parameter is a plain Tensor member of the module that owns it, registered by reference under a
// local name; dotted names ("layers.0.self_attn.q_proj.weight") come from the submodule tree, in
// registration order, so every listing and every init is deterministic. Modules are neither copyable
// nor movable (the registry holds addresses): hold them by value as members, or in
// std::vector<std::unique_ptr<...>> for stacks of layers.
//
// For autograd (attn/autograd.h): registered parameters are leaves with requires_grad on (like a
// torch Parameter), so ops record their use and backward() leaves d(loss)/d(w) in w.grad();
// named_parameters() hands out Tensor* to the live members, so optimizer state can be kept per
// parameter and updates written in place (under NoGradGuard). Two names may share one storage (tied
// embeddings, made with assign(b, parameter(a))); unique_parameters() lists each storage once.
// Run inference under NoGradGuard so nothing is recorded.
//
// `name()` is the module's full dotted path given at construction (GUIDE convention 4, e.g.
// "decoder.layers.3.self_attn.q_proj"); forward-time errors name it. Listings are relative to the
// module they are called on, like torch's state_dict().
#pragma once

#include <attn/error.h>
#include <attn/rng.h>
#include <attn/tensor.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

struct NamedParameter {
  std::string name;  // dotted, relative to the module that listed it
  Tensor* tensor;    // the live member
};

struct LoadOptions {
  // Every parameter must be given and every given name must be a parameter.
  bool strict = true;
  // Prepended to each parameter name when looking it up in the map ("model." for HF files).
  std::string prefix;
};

struct LoadReport {
  std::vector<std::string> loaded;      // parameter names that were filled
  std::vector<std::string> missing;     // parameters not in the map (non-strict only)
  std::vector<std::string> unexpected;  // map entries with no parameter (non-strict only)
};

class Module {
 public:
  explicit Module(std::string name = "") : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;

  // Full dotted path given at construction ("" for a root).
  const std::string& name() const { return name_; }
  // "name" or "<module>" when unnamed: for error messages.
  std::string label() const;

  // ---- parameters and submodules ----
  // Own parameters, then each submodule's, depth-first in registration order.
  std::vector<NamedParameter> named_parameters();
  // Same, skipping names whose storage was already listed (tied weights).
  std::vector<NamedParameter> unique_parameters();
  // Direct children in registration order.
  const std::vector<std::pair<std::string, Module*>>& children() const { return children_; }
  // The parameter under a dotted name; throws ConfigError naming it and the closest names.
  Tensor& parameter(std::string_view dotted);
  // The submodule under a dotted path ("layers.0.self_attn"); throws ConfigError.
  Module& submodule(std::string_view dotted);
  bool has_parameter(std::string_view dotted);
  // Total elements of unique parameters.
  int64_t num_parameters();

  // ---- state ----
  // name -> parameter tensor (handles sharing storage with the module, not copies).
  std::map<std::string, Tensor> state_dict();
  // Copies each tensor into the parameter of that name (in place: views, ties and optimizer
  // references stay valid; any dtype converts to the parameter's). ShapeError on a shape mismatch:
  // "self_attn.q_proj.weight: given [8,4], model wants [8,8]"; ConfigError on missing / unexpected
  // names in strict mode.
  LoadReport load_state(const std::map<std::string, Tensor>& tensors, const LoadOptions& opts = {});
  // Replaces one parameter's handle (zero-copy binding to an mmap'd tensor, or tying); same
  // ShapeError rule. The tensor must be f32 unless the caller knows the module handles its dtype.
  void assign(std::string_view dotted, const Tensor& value);

  // ---- gradients ----
  // Turns requires_grad on or off for every parameter (off = frozen, e.g. for fine-tuning a part).
  void set_requires_grad(bool on);
  // Clears every parameter's gradient.
  void zero_grad();

  // ---- init and mode ----
  // Fills every parameter from `rng` in registration order (each module's reset_parameters, e.g.
  // torch's defaults for Linear); same seed, same weights, any thread count.
  void init(Rng& rng);
  // Training mode turns dropout on (it needs an Rng at forward time); eval turns it off. Recursive.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

 protected:
  // Registers a member tensor under a local name (no dots) and turns its requires_grad on. The
  // reference must outlive the module: pass a member.
  void register_parameter(std::string local, Tensor& tensor);
  void register_module(std::string local, Module& child);
  // name() + "." + local (or local when this module is unnamed): the name to give a child.
  std::string child_name(std::string_view local) const;
  // Called by init() for this module only (children are visited by init itself).
  virtual void reset_parameters(Rng& rng) {}

 private:
  void collect(const std::string& prefix, std::vector<NamedParameter>& out);
  void init_recursive(Rng& rng);

  std::string name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Module*>> children_;
};

// A numbered list of submodules ("layers.0", "layers.1", ...), each constructed in place with its
// full name appended to the given arguments:
//   ModuleList<TransformerBlock> layers(child_name("layers"));
//   register_module("layers", layers);
//   for (int i = 0; i < n; ++i) layers.emplace_back(block_config);   // named "<parent>.layers.<i>"
template <class M>
class ModuleList : public Module {
 public:
  explicit ModuleList(std::string name = "") : Module(std::move(name)) {}
  template <class... Args>
  M& emplace_back(Args&&... args) {
    const std::string local = std::to_string(items_.size());
    items_.push_back(std::make_unique<M>(std::forward<Args>(args)..., child_name(local)));
    register_module(local, *items_.back());
    return *items_.back();
  }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) { return *items_.at(i); }
  const M& operator[](size_t i) const { return *items_.at(i); }

 private:
  std::vector<std::unique_ptr<M>> items_;
};

// "[2,3]" of t, or "undefined".
std::string tensor_shape_str(const Tensor& t);

}  // namespace attn
