// The one way tests describe a small random-weight model: a qwen2-layout TransformerConfig whose heads are
// 8 wide (hidden / 8 query heads, half as many key/value heads, at least one) with a feed-forward twice
// the hidden size. Tests override what they vary (bias, tied embeddings, EOS ids) on the result and build
// the weights with random_transformer (models/checkpoint.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "models/transformer_config.h"

namespace stepwise::testing {

inline TransformerConfig tiny_model_config(int64_t vocab_size, int64_t hidden_size, int64_t num_layers = 1,
                                           int64_t max_positions = 128) {
  TransformerConfig config;
  config.model_type = "qwen2";
  config.vocab_size = vocab_size;
  config.hidden_size = hidden_size;
  config.intermediate_size = 2 * hidden_size;
  config.num_layers = num_layers;
  config.head_dim = 8;
  config.num_heads = hidden_size / config.head_dim;
  config.num_kv_heads = std::max<int64_t>(1, config.num_heads / 2);
  config.max_position_embeddings = max_positions;
  return config;
}

}  // namespace stepwise::testing
