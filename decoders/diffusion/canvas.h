// The canvas a diffusion decoder edits: left-padded prompts (Dream's batching: positions
// cumsum(real) - 1, pads at 1, key padding) followed by `gen_len` mask tokens, with fixed spans
// pre-filled. All rows share the column layout: generation occupies [gen_start, gen_start + gen_len).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "decoders/diffusion/diffusion_config.h"
#include "models/transformer_config.h"

namespace stepwise {

struct Canvas {
  torch::Tensor tokens;                      // (B, W) int64: pads, prompt, generation (mask id = undecided)
  torch::Tensor positions;                   // (B, W) int64
  torch::Tensor prompt;                      // (B, W) bool: true at prompt tokens (not pads, not generation)
  std::optional<torch::Tensor> key_padding;  // (B, W) bool, true = real token; nullopt when no row is padded
  int64_t gen_start = 0;                     // first generation column (the longest prompt's length)
  int64_t gen_len = 0;
  int64_t mask_id = 0;

  int64_t rows() const { return tokens.size(0); }
  int64_t width() const { return tokens.size(1); }
};

// Errors (stepwise::Error) when the model has no mask_token_id, a fixed position lies outside the
// generation or a token id lies outside the vocabulary.
Canvas make_canvas(const std::vector<std::vector<int64_t>>& prompts, int64_t gen_len, const TransformerConfig& config,
                   const std::vector<FixedToken>& fixed, const torch::Device& device);

// Per row, the columns of [begin, end) that still hold the mask token, as one padded tensor.
struct MaskedColumns {
  torch::Tensor columns;        // (B, K) int64, K = max(1, largest count); row r's first counts[r] entries
                                // are its masked columns in increasing order, the rest repeat `begin`
  std::vector<int64_t> counts;  // B
  bool none() const;
};
MaskedColumns masked_columns(const Canvas& canvas, int64_t begin, int64_t end);
// The same for any canvas of tokens (B, W) whose undecided columns hold `mask_id`.
MaskedColumns masked_columns(const torch::Tensor& tokens, int64_t mask_id, int64_t begin, int64_t end);

// Per row, the generated part of the canvas (gen_len tokens, mask id where undecided).
std::vector<std::vector<int64_t>> generated_tokens(const Canvas& canvas);

}  // namespace stepwise
