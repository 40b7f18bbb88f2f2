// AR loss inputs: labels are the tokens shifted left by one, weighted by the target mask.
#include "experiments/training/ar_objective.h"

#include <torch/torch.h>

namespace stepwise::training {

LossInputs ar_loss_inputs(const TrainingBatch& batch) {
  const int64_t rows = batch.batch_size(), width = batch.width();
  LossInputs inputs;
  inputs.tokens = batch.tokens;
  inputs.positions = batch.positions;
  // Right padding: a real query never sees a later pad under a causal mask, so no key padding is needed.
  inputs.attention = AttentionSpec::causal();
  torch::Tensor next_tokens = batch.tokens.narrow(1, 1, width - 1);                       // (B, T-1)
  torch::Tensor next_is_target = batch.target_mask.narrow(1, 1, width - 1);              // (B, T-1)
  inputs.labels = torch::cat({next_tokens, torch::zeros({rows, 1}, torch::kInt64)}, 1);  // (B, T)
  torch::Tensor scored = torch::cat({next_is_target, torch::zeros({rows, 1}, torch::kBool)}, 1).to(torch::kFloat32);
  const double count = std::max(1.0, scored.sum().item<double>());
  inputs.weights = scored / count;  // (B, T)
  return inputs;
}

}  // namespace stepwise::training
