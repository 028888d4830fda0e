// nn/module.cpp — Module: the parameter/submodule registry, dotted names, loading, init, mode.
#include <attn/nn/module.h>

#include <set>

namespace attn {

std::string tensor_shape_str(const Tensor& t) { return t.defined() ? shape_str(t.shape()) : "undefined"; }

std::string Module::label() const { return name_.empty() ? "<module>" : name_; }

std::string Module::child_name(std::string_view local) const {
  return name_.empty() ? std::string(local) : name_ + "." + std::string(local);
}

void Module::register_parameter(std::string local, Tensor& tensor) {
  ATTN_CHECK(!local.empty() && local.find('.') == std::string::npos, ConfigError,
             "{}: parameter name '{}' must be non-empty and without dots", label(), local);
  for (auto& [n, _] : params_)
    ATTN_CHECK(n != local, ConfigError, "{}: parameter '{}' registered twice", label(), local);
  if (tensor.defined() && dtype_is_float(tensor.dtype())) tensor.set_requires_grad(true);
  params_.emplace_back(std::move(local), &tensor);
}

void Module::register_module(std::string local, Module& child) {
  ATTN_CHECK(!local.empty() && local.find('.') == std::string::npos, ConfigError,
             "{}: submodule name '{}' must be non-empty and without dots", label(), local);
  for (auto& [n, _] : children_)
    ATTN_CHECK(n != local, ConfigError, "{}: submodule '{}' registered twice", label(), local);
  children_.emplace_back(std::move(local), &child);
}

void Module::collect(const std::string& prefix, std::vector<NamedParameter>& out) {
  for (auto& [n, t] : params_) out.push_back({prefix + n, t});
  for (auto& [n, m] : children_) m->collect(prefix + n + ".", out);
}

std::vector<NamedParameter> Module::named_parameters() {
  std::vector<NamedParameter> out;
  collect("", out);
  return out;
}

std::vector<NamedParameter> Module::unique_parameters() {
  std::vector<NamedParameter> out;
  std::set<std::pair<const void*, int64_t>> seen;  // (storage, offset)
  for (auto& p : named_parameters()) {
    const void* key = p.tensor->defined() ? static_cast<const void*>(p.tensor->storage().get()) : nullptr;
    if (key && !seen.insert({key, p.tensor->offset()}).second) continue;
    out.push_back(std::move(p));
  }
  return out;
}

int64_t Module::num_parameters() {
  int64_t n = 0;
  for (auto& p : unique_parameters()) n += p.tensor->defined() ? p.tensor->numel() : 0;
  return n;
}

Module& Module::submodule(std::string_view dotted) {
  Module* m = this;
  std::string_view rest = dotted;
  while (!rest.empty()) {
    const size_t dot = rest.find('.');
    const std::string_view head = rest.substr(0, dot);
    Module* next = nullptr;
    for (auto& [n, c] : m->children_)
      if (n == head) next = c;
    ATTN_CHECK(next != nullptr, ConfigError, "{}: no submodule '{}' (at '{}')", label(), dotted, head);
    m = next;
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  return *m;
}

bool Module::has_parameter(std::string_view dotted) {
  for (auto& p : named_parameters())
    if (p.name == dotted) return true;
  return false;
}

Tensor& Module::parameter(std::string_view dotted) {
  const size_t dot = dotted.rfind('.');
  Module& owner = dot == std::string_view::npos ? *this : submodule(dotted.substr(0, dot));
  const std::string_view local = dot == std::string_view::npos ? dotted : dotted.substr(dot + 1);
  for (auto& [n, t] : owner.params_)
    if (n == local) return *t;
  std::string have;
  for (auto& [n, _] : owner.params_) have += (have.empty() ? "" : ", ") + n;
  throw ConfigError(fmt::format("{}: no parameter '{}' (that module has: {})", label(), dotted,
                                have.empty() ? "none" : have));
}

std::map<std::string, Tensor> Module::state_dict() {
  std::map<std::string, Tensor> out;
  for (auto& p : named_parameters()) out.emplace(p.name, *p.tensor);
  return out;
}

namespace {
void check_same_shape(const std::string& name, const Tensor& given, const Tensor& want) {
  ATTN_CHECK(given.defined() && given.shape() == want.shape(), ShapeError, "{}: given {}, model wants {}", name,
             tensor_shape_str(given), tensor_shape_str(want));
}
}  // namespace

LoadReport Module::load_state(const std::map<std::string, Tensor>& tensors, const LoadOptions& opts) {
  LoadReport report;
  std::set<std::string> used;
  // Pass 1: check everything before writing anything, so a failed load leaves the module intact.
  std::vector<std::pair<Tensor*, const Tensor*>> plan;
  for (auto& p : named_parameters()) {
    const std::string key = opts.prefix + p.name;
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      report.missing.push_back(key);
      continue;
    }
    check_same_shape(key, it->second, *p.tensor);
    used.insert(key);
    plan.emplace_back(p.tensor, &it->second);
    report.loaded.push_back(p.name);
  }
  for (auto& [k, _] : tensors)
    if (!used.count(k) && k.starts_with(opts.prefix)) report.unexpected.push_back(k);
  if (opts.strict) {
    ATTN_CHECK(report.missing.empty(), ConfigError, "{}: {} parameter(s) missing from the given tensors, first '{}'",
               label(), report.missing.size(), report.missing.empty() ? "" : report.missing[0]);
    ATTN_CHECK(report.unexpected.empty(), ConfigError,
               "{}: {} given tensor(s) match no parameter, first '{}'", label(), report.unexpected.size(),
               report.unexpected.empty() ? "" : report.unexpected[0]);
  }
  // Pass 2: copy in place (keeps ties, views and optimizer references).
  for (auto& [dst, src] : plan) dst->copy_from(*src);
  return report;
}

void Module::assign(std::string_view dotted, const Tensor& value) {
  Tensor& t = parameter(dotted);
  check_same_shape(std::string(dotted), value, t);
  const bool grad = t.requires_grad();
  t = value;
  if (t.is_leaf() && dtype_is_float(t.dtype())) t.set_requires_grad(grad);
}

void Module::set_requires_grad(bool on) {
  for (auto& p : named_parameters())
    if (p.tensor->defined() && p.tensor->is_leaf()) p.tensor->set_requires_grad(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters())
    if (p.tensor->defined()) p.tensor->zero_grad();
}

void Module::init_recursive(Rng& rng) {
  reset_parameters(rng);
  for (auto& [_, c] : children_) c->init_recursive(rng);
}

void Module::init(Rng& rng) { init_recursive(rng); }

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, c] : children_) c->train(on);
}

}  // namespace attn
