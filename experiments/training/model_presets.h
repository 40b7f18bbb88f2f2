// Model shapes for training from scratch, in the Qwen2 (q/k/v bias) or LLaMA (no bias) layout:
//   tiny   the "tiny" 6M shape of the diffusion-vs-AR study: 3 layers, 384 wide, 12 heads, SwiGLU
//          width 1024 (8/3 of the width, so the block matches a GPT-2 block of 4x MLP in size);
//   small  4 layers, 128 wide, 4 heads, SwiGLU width 384 (0.8M parameters): trains in minutes on two
//          CPU cores.
// Callers may change any field afterwards (sizes from YAML or flags); the result is validated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/transformer_config.h"

namespace stepwise::training {

struct PresetRequest {
  std::string preset = "small";  // "tiny" | "small"
  std::string layout = "qwen2";  // "qwen2" | "llama"
  int64_t vocab_size = 32;       // the character vocabulary of the planning tasks
  int64_t max_positions = 512;
  std::vector<int64_t> eos_token_ids = {3};  // [EOS] of the character vocabulary (AR decoders stop there)
  std::optional<int64_t> pad_token_id = 0;   // [PAD]
};

std::vector<std::string> model_preset_names();
// A causal (AR) config; throws stepwise::Error naming an unknown preset or layout.
TransformerConfig model_preset(const PresetRequest& request);

}  // namespace stepwise::training
