// The token reweighting of MGDM ("Beyond Autoregression", HKUNLP diffusion-vs-ar trainer): each
// scored token's cross-entropy l becomes alpha * (1 - exp(-l))^gamma * l, so tokens the model finds
// hard (large l) weigh more. The factor is not detached: the gradient flows through it, exactly as in
// the study's `loss = alpha * (1 - torch.exp(-loss)) ** gamma * loss`.
#pragma once

#include <torch/types.h>

#include "experiments/training/objective_options.h"

namespace stepwise::training {

// losses (B, T) float32 per-token cross-entropies -> (B, T) reweighted, same graph.
torch::Tensor reweight_token_losses(const torch::Tensor& losses, const TokenReweighting& reweighting);

}  // namespace stepwise::training
