// AutoRound (arXiv 2309.05516, intel/auto-round): block-wise weight quantization that learns, for every
// linear layer of a transformer block, a rounding offset per weight (starting at 0) and a scale on each
// group's min and max (starting at 1) by signed gradient descent on the mean squared error between the
// block's full-precision output and its quantized output. Blocks are quantized in order; each block's
// quantized copy is trained on the outputs of the already quantized blocks before it, its target being
// the full-precision block on full-precision inputs. The learning rate decays linearly to 0 and the
// iteration with the lowest loss is kept. Round-to-nearest (RTN) is in the same file: no calibration.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/group_quantized.h"
#include "models/quantization/group_quantizer.h"
#include "models/quantization/quantization_config.h"
#include "models/transformer.h"

namespace stepwise {

// Hugging Face weight name -> quantized weight.
using QuantizedWeights = std::map<std::string, GroupQuantizedMatrix>;

// The seven linear layers of block `layer` ("model.layers.L.self_attn.q_proj.weight", ...).
std::vector<std::string> block_linear_names(int64_t layer);

// Every block linear (and the LM head when `lm_head`) by round-to-nearest. Errors name the tensor whose
// in_features the group size does not divide; an LM head tied to the embedding cannot be quantized.
QuantizedWeights quantize_rtn(const Transformer& model, const QuantizationScheme& scheme, bool lm_head = false);

struct BlockTuning {
  int64_t layer = 0;
  double rtn_loss = 0.0;   // the loss of iteration 0 (offsets 0, scales 1: RTN)
  double best_loss = 0.0;  // the lowest loss seen
  int64_t best_iteration = 0;
  double seconds = 0.0;
};

// Learns block `layer`'s rounding on calibration hidden states: q_inputs (S, T, H) are the block's
// inputs through the quantized blocks before it, targets (S, T, H) the full-precision block's outputs
// on full-precision inputs, positions (1, T). Returns the block's quantized weights; `tuning` gets the
// losses. Batches of settings.batch_size samples are drawn with `generator`.
QuantizedWeights autoround_block(const Transformer& model, int64_t layer, const QuantizationScheme& scheme,
                                 const AutoRoundSettings& settings, const torch::Tensor& q_inputs,
                                 const torch::Tensor& targets, const torch::Tensor& positions,
                                 at::Generator& generator, BlockTuning* tuning = nullptr);

// The block `layer` of `model` with `weights` (a subset of its linears) in place of its own, on x (S, T, H).
torch::Tensor block_output(const Transformer& model, int64_t layer, const QuantizedWeights& weights,
                           const torch::Tensor& x, const torch::Tensor& positions);

// Every block by AutoRound on calibration tokens (S, T) int64 (the LM head by RTN when `lm_head`).
// `on_block` is called after each block.
QuantizedWeights quantize_autoround(const Transformer& model, const torch::Tensor& calibration,
                                    const QuantizationScheme& scheme, const AutoRoundSettings& settings,
                                    bool lm_head = false,
                                    const std::function<void(const BlockTuning&)>& on_block = {});

}  // namespace stepwise
