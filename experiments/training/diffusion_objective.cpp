// Masked-diffusion noise and loss inputs.
#include "experiments/training/diffusion_objective.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace stepwise::training {
namespace {

// (B, T) -> (B, T): column j takes column j+1; the last column is `fill`.
torch::Tensor shift_left(const torch::Tensor& values, double fill) {
  const int64_t width = values.size(1);
  return torch::cat({values.narrow(1, 1, width - 1), torch::full({values.size(0), 1}, fill, values.options())}, 1);
}

// (B, T) bool: per row the columns of one block of `block_length` positions, drawn uniformly among the
// blocks that hold target tokens (one uniform per row from `generator`). Rows start at column 0, so
// column blocks are position blocks.
torch::Tensor current_blocks(const TrainingBatch& batch, int64_t block_length, at::Generator& generator) {
  const int64_t rows = batch.batch_size(), width = batch.width();
  torch::Tensor u = at::rand({rows}, generator, torch::TensorOptions().dtype(torch::kFloat32));  // (B)
  torch::Tensor target = batch.target_mask.to(torch::kCPU);
  torch::Tensor block_of = torch::arange(width, torch::kInt64).div(block_length, "floor");  // (T)
  torch::Tensor chosen = torch::zeros({rows}, torch::kInt64);
  for (int64_t r = 0; r < rows; ++r) {
    torch::Tensor columns = target[r].nonzero().view({-1});
    check(columns.numel() > 0, "block diffusion: training row ", r, " has no target token");
    const int64_t first = columns[0].item<int64_t>() / block_length;
    const int64_t last = columns[-1].item<int64_t>() / block_length;
    const int64_t count = last - first + 1;
    chosen[r] = first + std::min<int64_t>(count - 1, static_cast<int64_t>(u[r].item<float>() * count));
  }
  return (block_of.unsqueeze(0) == chosen.unsqueeze(1)).to(batch.tokens.device());  // (B, T)
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
  noise.eligible = batch.target_mask;
  if (options.block_length) noise.eligible = batch.target_mask & current_blocks(batch, *options.block_length, generator);
  torch::Tensor uniform = at::rand({rows, batch.width()}, generator, float_options);  // (B, T)
  noise.masked = (uniform < noise.rate.unsqueeze(1)) & noise.eligible;
  return noise;
}

std::pair<TrainingBatch, DiffusionNoise> with_complementary_masks(const TrainingBatch& batch,
                                                                  const DiffusionNoise& noise) {
  auto twice = [](const torch::Tensor& x) { return torch::cat({x, x}, 0); };
  TrainingBatch doubled{twice(batch.tokens), twice(batch.positions), twice(batch.real), twice(batch.target_mask)};
  DiffusionNoise both{twice(noise.time), twice(noise.rate),
                      torch::cat({noise.masked, noise.eligible & noise.masked.logical_not()}, 0), twice(noise.eligible)};
  return {doubled, both};
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
  if (options.block_length) {
    inputs.attention.kind = AttentionKind::kBlockCausal;
    inputs.attention.block_size = *options.block_length;
  }
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
