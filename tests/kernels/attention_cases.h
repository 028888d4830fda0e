// tests/kernels/attention_cases.h — the case description the attention kernel tests (forward and
// backward) share, and the case lists both run.
//
//   for (const auto& [c, seed] : attention_cases::boundary_tiles()) check_case(c, seed);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attn::kernels::attention_cases {

enum class MaskKind { kNone, kBoolTS, kAddB1TS, kBoolHTS };

struct Case {
  int64_t B = 1, H = 1, Hkv = 1, T = 1, S = 1, D = 1;
  bool causal = false;
  int64_t offset_shift = 0;  // offset = S - T + shift
  bool lengths = false;
  MaskKind mask = MaskKind::kNone;
  int64_t window_left = -1, window_right = -1;
  bool alibi = false;
  float softcap = 0.0f;
  float dropout = 0.0f;
  float logit_scale = 1.0f;  // multiplies q (1e4-ish logits)
  bool nan_in_masked = false;
  bool grid = false;  // inputs on a 2^-8 grid (exact finite-difference steps; the backward's check)

  std::string str() const {
    return "B" + std::to_string(B) + " H" + std::to_string(H) + "/" + std::to_string(Hkv) + " T" + std::to_string(T) +
           " S" + std::to_string(S) + " D" + std::to_string(D) + (causal ? " causal" : "") +
           (offset_shift ? " shift" + std::to_string(offset_shift) : "") + (lengths ? " lengths" : "") + " mask" +
           std::to_string(static_cast<int>(mask)) + " win" + std::to_string(window_left) + "," +
           std::to_string(window_right) + (alibi ? " alibi" : "") + (softcap > 0 ? " softcap" : "") +
           (dropout > 0 ? " dropout" : "") + " qx" + std::to_string(logit_scale) + (nan_in_masked ? " nan" : "");
  }
};

// Diagonal offsets and windows that put band ends anywhere inside a lane vector, bands narrower
// than a vector, and logit terms, dropout and NaN in masked K/V on the partial tiles (the kernels
// compute only the vector blocks some row of a boundary tile sees). {case, seed}.
inline std::vector<std::pair<Case, uint32_t>> boundary_tiles() {
  std::vector<std::pair<Case, uint32_t>> cases;
  for (int64_t shift : {5, -11, 23, 40})
    cases.push_back({{.H = 2, .Hkv = 1, .T = 150, .S = 170, .D = 16, .causal = true, .offset_shift = shift,
                      .nan_in_masked = shift != 5},
                     20 + static_cast<uint32_t>(shift + 11)});
  cases.push_back(
      {{.H = 2, .Hkv = 2, .T = 200, .S = 200, .D = 8, .window_left = 3, .window_right = 2, .nan_in_masked = true}, 31});
  cases.push_back({{.B = 2, .H = 2, .Hkv = 1, .T = 130, .S = 140, .D = 24, .causal = true, .offset_shift = 7,
                    .lengths = true, .window_left = 20, .alibi = true, .dropout = 0.2f},
                   32});
  cases.push_back({{.H = 2, .Hkv = 1, .T = 100, .S = 100, .D = 16, .causal = true, .offset_shift = -9,
                    .mask = MaskKind::kBoolTS, .softcap = 5.0f, .nan_in_masked = true},
                   33});
  return cases;
}

}  // namespace attn::kernels::attention_cases
