// Dispatch to the AR or diffusion objective.
#include "experiments/training/objective.h"

#include "experiments/training/ar_objective.h"
#include "experiments/training/diffusion_objective.h"

namespace stepwise::training {

LossInputs objective_loss_inputs(const TrainingBatch& batch, const ObjectiveOptions& options,
                                 at::Generator& generator) {
  if (options.kind == ObjectiveKind::kAutoregressive) return ar_loss_inputs(batch);
  DiffusionNoise noise = sample_diffusion_noise(batch, options.diffusion, generator);
  if (!options.diffusion.complementary_masks) return diffusion_loss_inputs(batch, noise, options.diffusion);
  const auto [doubled, both] = with_complementary_masks(batch, noise);
  return diffusion_loss_inputs(doubled, both, options.diffusion);
}

}  // namespace stepwise::training
