// Masked-diffusion objective on the target tokens (see objective_options.h for the two forms).
// Noise drawing is separate from building the loss inputs, so tests can check masking rates and
// hand-computed losses on chosen masks. Source tokens are never masked and never scored; the right
// padding is hidden by the key-padding mask. With shift_logits the output at j-1 scores token j.
#pragma once

#include <ATen/core/Generator.h>
#include <utility>
#include <torch/types.h>

#include "experiments/training/loss_inputs.h"
#include "experiments/training/objective_options.h"
#include "experiments/training/training_batch.h"

namespace stepwise::training {

struct DiffusionNoise {
  torch::Tensor time;      // (B) float32: discrete t in {0..T-1}, or continuous t in (eps, 1]
  torch::Tensor rate;      // (B) float32: probability that each target token of the row is masked
  torch::Tensor masked;    // (B, T) bool: target tokens replaced by the mask token
  torch::Tensor eligible;  // (B, T) bool: tokens that could be masked (target; block diffusion: in the current block)
};

// Draws t per row, then one uniform per position: masked = eligible & (u < rate). With a block length, the
// row's current block is drawn first (one uniform per row, among the blocks holding target tokens) and
// eligible = target & current block; without, eligible = target. Uses only `generator`.
DiffusionNoise sample_diffusion_noise(const TrainingBatch& batch, const DiffusionOptions& options,
                                      at::Generator& generator);

// The batch twice, the second copy with the complementary mask (eligible & !masked) and the same noise
// level: complementary masks (Fast-dLLM v2). Returns the doubled batch and noise.
std::pair<TrainingBatch, DiffusionNoise> with_complementary_masks(const TrainingBatch& batch,
                                                                  const DiffusionNoise& noise);

// Masked tokens, bidirectional (block diffusion: block-causal) attention with key padding, labels = the clean tokens, and weights
// = masked * row weight / normaliser, moved one position left when options.shift_logits.
LossInputs diffusion_loss_inputs(const TrainingBatch& batch, const DiffusionNoise& noise,
                                 const DiffusionOptions& options);

// The per-row weight of `options.weighting` for noise levels `time`/`rate` (both (B)): (B) float32.
torch::Tensor diffusion_row_weights(const torch::Tensor& time, const torch::Tensor& rate,
                                    const DiffusionOptions& options);

}  // namespace stepwise::training
