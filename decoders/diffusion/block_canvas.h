// The canvas of the block-diffusion decoder. Blocks are aligned to token positions (block b holds
// positions [b * L, (b + 1) * L) of a row, prompt included), so a row's first real token sits in a
// column that is a multiple of the block length: row r is padded on the left by the largest multiple of
// L that keeps its generation start at or before the longest prompt's end, and on the right up to the
// common width. Columns then belong to the same block in every row, and the block-causal mask over
// column slots is each row's mask over its positions; padding is hidden by the key-padding mask and
// positions count real tokens only, so a row decodes as it would alone.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "models/transformer_config.h"

namespace stepwise {

struct BlockCanvas {
  torch::Tensor tokens;                      // (B, W) int64: pads, prompt, generation (mask id = undecided), pads
  torch::Tensor positions;                   // (B, W) int64: 0 at each row's first prompt token
  std::optional<torch::Tensor> key_padding;  // (B, W) bool, true = real token; nullopt when no column is a pad
  std::vector<int64_t> gen_start;            // B: each row's first generation column
  int64_t gen_len = 0;
  int64_t block_length = 1;
  int64_t mask_id = 0;

  int64_t rows() const { return tokens.size(0); }
  int64_t width() const { return tokens.size(1); }
  int64_t blocks() const { return (width() + block_length - 1) / block_length; }
  // The first block holding a generation column of any row.
  int64_t first_generation_block() const;
};

// Errors (stepwise::Error) when the model has no mask_token_id, a prompt token lies outside the
// vocabulary or is the mask token, a prompt is empty under the logit shift, or the canvas exceeds the
// model's positions. Checked before anything is allocated.
BlockCanvas make_block_canvas(const std::vector<std::vector<int64_t>>& prompts, int64_t gen_len,
                              int64_t block_length, const TransformerConfig& config, const torch::Device& device);

// Per row, the generated part of the canvas (gen_len tokens, mask id where undecided).
std::vector<std::vector<int64_t>> generated_tokens(const BlockCanvas& canvas);

}  // namespace stepwise
