// Weighted cross-entropy over every output position.
#include "experiments/training/loss_inputs.h"

#include <torch/torch.h>

#include "experiments/training/token_reweighting.h"
#include "models/transformer.h"

namespace stepwise::training {

torch::Tensor weighted_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                     const torch::Tensor& weights,
                                     const std::optional<TokenReweighting>& reweighting) {
  TORCH_CHECK(logits.dim() == 3 && labels.sizes() == logits.sizes().slice(0, 2) && weights.sizes() == labels.sizes(),
              "weighted_cross_entropy: logits (B, T, V), labels and weights (B, T) expected, got ", logits.sizes(),
              ", ", labels.sizes(), ", ", weights.sizes());
  torch::Tensor log_probs = torch::log_softmax(logits.to(torch::kFloat32), -1);              // (B, T, V)
  torch::Tensor picked = log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1);             // (B, T)
  // masked_fill keeps unscored positions at exactly 0 even if their log-probability is -inf; the
  // reweighting then sees 0 there, as in the study (which zeroes unmasked positions first).
  const torch::Tensor unscored = weights == 0;
  torch::Tensor token_losses = (-picked).masked_fill(unscored, 0.0);  // (B, T): l
  if (reweighting) token_losses = reweight_token_losses(token_losses, *reweighting);
  torch::Tensor terms = (token_losses * weights.to(torch::kFloat32)).masked_fill(unscored, 0.0);  // (B, T)
  return terms.sum();
}

torch::Tensor loss_of(const Transformer& model, const LossInputs& inputs) {
  ForwardOptions options;
  options.attention = inputs.attention;
  torch::Tensor logits = model.forward(inputs.tokens, inputs.positions, options);  // (B, T, V) float32
  return weighted_cross_entropy(logits, inputs.labels, inputs.weights, inputs.token_reweighting);
}

int64_t scored_positions(const LossInputs& inputs) { return (inputs.weights != 0).sum().item<int64_t>(); }

}  // namespace stepwise::training
