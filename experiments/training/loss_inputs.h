// What one training objective asks of the model for a batch: the tokens it reads, the attention it
// uses, and, per output position, the token that output is scored against and the weight of that
// cross-entropy term. The weights already carry the objective's weighting and normalisation, so
// every objective's loss is the same weighted sum (weighted_cross_entropy); masks live in the weights.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "core/tensor/attention.h"
#include "experiments/training/objective_options.h"

namespace stepwise {
class Transformer;
}

namespace stepwise::training {

struct LossInputs {
  torch::Tensor tokens;     // (B, T) int64: what the model reads (diffusion: target tokens partly masked)
  torch::Tensor positions;  // (B, T) int64
  AttentionSpec attention;  // causal (AR) or bidirectional with key padding (diffusion)
  torch::Tensor labels;     // (B, T) int64: token that output position j is scored against
  torch::Tensor weights;    // (B, T) float32: weight of output j's cross-entropy; 0 = not scored
  // MGDM: each per-token cross-entropy l is first reweighted from its own value (token_reweighting.h).
  std::optional<TokenReweighting> token_reweighting;
};

// sum_j weights[j] * l_j over the batch, l_j = CE(logits[j], labels[j]), or its reweighted value
// when `reweighting` is given: a scalar float32 tensor. logits (B, T, V), labels (B, T) int64, weights
// (B, T) float32. Positions of weight 0 contribute exactly 0 whatever their logits or labels.
torch::Tensor weighted_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                     const torch::Tensor& weights,
                                     const std::optional<TokenReweighting>& reweighting = std::nullopt);

// The model's forward pass on `inputs` followed by weighted_cross_entropy: a scalar with a graph.
torch::Tensor loss_of(const Transformer& model, const LossInputs& inputs);

// Number of scored output positions (non-zero weights).
int64_t scored_positions(const LossInputs& inputs);

}  // namespace stepwise::training
