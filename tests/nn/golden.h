// tests/nn/golden.h — reads the PyTorch goldens written by scripts/make_nn_goldens.py and compares
// tensors against them. No Python at test time.
#pragma once

#include <attn/tensor.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attn::testing {

struct GoldenTensor {
  Shape shape;
  bool is_int = false;
  std::vector<double> data;
  // f32 for float data (inputs and weights are float32 values, so this is exact), i64 otherwise.
  Tensor tensor() const {
    if (is_int) return Tensor::from_vector_i64(std::vector<int64_t>(data.begin(), data.end()), shape);
    return Tensor::from_vector(std::vector<float>(data.begin(), data.end()), shape);
  }
};

struct Golden {
  nlohmann::json meta;
  std::map<std::string, GoldenTensor> tensors;

  const GoldenTensor& at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("golden has no tensor '" + name + "'");
    return it->second;
  }
  Tensor operator[](const std::string& name) const { return at(name).tensor(); }
  // Every float tensor whose name contains a '.' or equals a parameter-like name: the weights.
  std::map<std::string, Tensor> weights() const {
    std::map<std::string, Tensor> out;
    for (auto& [n, t] : tensors)
      if (n.find('.') != std::string::npos) out.emplace(n, t.tensor());
    return out;
  }
};

inline Golden load_golden(const std::string& name) {
  const std::string path = std::string(ATTN_SOURCE_DIR) + "/tests/golden/nn/" + name + ".json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open golden " + path);
  const nlohmann::json j = nlohmann::json::parse(f);
  Golden g;
  g.meta = j.at("meta");
  for (auto& [n, t] : j.at("tensors").items()) {
    GoldenTensor gt;
    for (auto& s : t.at("shape")) gt.shape.push_back(s.get<int64_t>());
    gt.is_int = t.at("dtype") == "i64";
    for (auto& v : t.at("data")) {
      if (v.is_string()) gt.data.push_back(v == "-inf" ? -INFINITY : INFINITY);
      else gt.data.push_back(v.get<double>());
    }
    g.tensors.emplace(n, std::move(gt));
  }
  return g;
}

// torch bool mask (1 = masked) -> attn integer mask (1 = may attend).
inline Tensor invert_bool_mask(const GoldenTensor& m) {
  std::vector<int64_t> v;
  for (double x : m.data) v.push_back(x != 0 ? 0 : 1);
  return Tensor::from_vector_i64(v, m.shape);
}

// |got - want| <= atol + rtol·|want| everywhere, shapes equal; reports the worst element.
inline ::testing::AssertionResult all_close(const Tensor& got, const GoldenTensor& want, double rtol = 1e-5,
                                            double atol = 1e-5) {
  if (!got.defined()) return ::testing::AssertionFailure() << "result is undefined";
  if (got.shape() != want.shape)
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " != golden " << shape_str(want.shape);
  const std::vector<double> g = got.to_vector_f64();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - want.data[i]) / (atol + rtol * std::abs(want.data[i]));
    if (std::isnan(g[i]) != std::isnan(want.data[i]))
      return ::testing::AssertionFailure() << "element " << i << ": got " << g[i] << ", want " << want.data[i];
    if (g[i] == want.data[i]) continue;  // also equal infinities
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << at << ": got " << g[at] << ", want " << want.data[at]
                                       << " (error " << worst << "x the tolerance)";
}

}  // namespace attn::testing
