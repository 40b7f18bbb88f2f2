// Turning a causal (AR) model into a masked-diffusion one, Dream's recipe: the same weights, with
// the config switched to bidirectional attention and a mask token. With shifted logits the result is
// model_type "Dream" (output j-1 predicts token j, so the AR head keeps its meaning); without, the
// layout is kept and marked non-causal (LLaDA-style, logits read in place). Also used to make a
// fresh diffusion config from a preset.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "models/transformer_config.h"

namespace stepwise {
class Transformer;
}

namespace stepwise::training {

struct DiffusionConversion {
  int64_t mask_token_id = 2;
  bool shift_logits = true;             // Dream; for block diffusion Fast-dLLM v2's token shift
  std::optional<int64_t> block_size;    // block diffusion (config bd_size): block-causal attention
};

// The diffusion form of `config` (any model_type; an already bidirectional config is re-marked).
TransformerConfig diffusion_config(TransformerConfig config, const DiffusionConversion& conversion);

// A new model with diffusion_config(model.config()) and copies of all of `model`'s weights (same
// dtype), independent of `model`'s storage.
std::shared_ptr<Transformer> diffusion_model_from(const Transformer& model, const DiffusionConversion& conversion);

}  // namespace stepwise::training
