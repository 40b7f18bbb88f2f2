// Masked-diffusion noise and loss inputs.
#include "experiments/training/diffusion_objective.h"

#include <torch/torch.h>

#include "core/error.h"

namespace stepwise::training {
namespace {

// (B, T) -> (B, T): column j takes column j+1; the last column is `fill`.
torch::Tensor shift_left(const torch::Tensor& values, double fill) {
  const int64_t width = values.size(1);
  return torch::cat({values.narrow(1, 1, width - 1), torch::full({values.size(0), 1}, fill, values.options())}, 1);
}

}  // namespace

DiffusionNoise sample_diffusion_noise(const TrainingBatch& batch, const DiffusionOptions& options,
                                      at::Generator& generator) {
  validate_diffusion_options(options);
  const int64_t rows = batch.batch_size();
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat32);
  DiffusionNoise noise;
  if (options.schedule == NoiseSchedule::kDiscrete) {
    torch::Tensor t = at::randint(0, options.timesteps, {rows}, generator, torch::TensorOptions().dtype(torch::kInt64));
    noise.time = t.to(torch::kFloat32);
    noise.rate = (noise.time + 1.0) / static_cast<double>(options.timesteps);
  } else {
    torch::Tensor u = at::rand({rows}, generator, float_options);  // [0, 1)
    noise.time = 1.0 - (1.0 - options.eps) * u;                     // (eps, 1]
    noise.rate = noise.time;
  }
  torch::Tensor uniform = at::rand({rows, batch.width()}, generator, float_options);  // (B, T)
  noise.masked = (uniform < noise.rate.unsqueeze(1)) & batch.target_mask;
  return noise;
}

torch::Tensor diffusion_row_weights(const torch::Tensor& time, const torch::Tensor& rate,
                                    const DiffusionOptions& options) {
  switch (options.weighting) {
    case LossWeighting::kNone: return torch::ones_like(rate);
    case LossWeighting::kInverseRate: return 1.0 / rate;
    case LossWeighting::kLinear: return static_cast<double>(options.timesteps) - time;
  }
  TORCH_INTERNAL_ASSERT(false, "unknown loss weighting");
}

LossInputs diffusion_loss_inputs(const TrainingBatch& batch, const DiffusionNoise& noise,
                                 const DiffusionOptions& options) {
  validate_diffusion_options(options);
  TORCH_CHECK(noise.masked.sizes() == batch.tokens.sizes(), "diffusion noise does not match the batch");
  if (options.shift_logits)
    check(!batch.target_mask.select(1, 0).any().item<bool>(),
          "shifted diffusion logits need at least one source token before the target");
  LossInputs inputs;
  inputs.tokens = batch.tokens.masked_fill(noise.masked, options.mask_token_id);
  inputs.positions = batch.positions;
  inputs.attention = AttentionSpec::bidirectional();
  inputs.attention.key_padding = batch.real;
  inputs.token_reweighting = options.token_reweighting;

  torch::Tensor masked = noise.masked.to(torch::kFloat32);  // (B, T)
  const double normaliser = options.normalization == LossNormalization::kMaskedTokens
                                ? masked.sum().item<double>()
                                : batch.target_mask.sum().item<double>();
  torch::Tensor weights =
      masked * diffusion_row_weights(noise.time, noise.rate, options).unsqueeze(1) / std::max(1.0, normaliser);
  if (options.shift_logits) {
    inputs.labels = shift_left(batch.tokens, 0);
    inputs.weights = shift_left(weights, 0.0);
  } else {
    inputs.labels = batch.tokens;
    inputs.weights = weights;
  }
  return inputs;
}

}  // namespace stepwise::training
