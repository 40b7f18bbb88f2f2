// MGDM token reweighting of per-token cross-entropies.
#include "experiments/training/token_reweighting.h"

#include <torch/torch.h>

namespace stepwise::training {

torch::Tensor reweight_token_losses(const torch::Tensor& losses, const TokenReweighting& reweighting) {
  torch::Tensor focus = (1.0 - torch::exp(-losses)).pow(reweighting.gamma);  // (B, T), in [0, 1)
  return reweighting.alpha * focus * losses;
}

}  // namespace stepwise::training
