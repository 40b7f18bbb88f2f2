// Dispatch to the AR or diffusion objective.
#include "experiments/training/objective.h"

#include "experiments/training/ar_objective.h"
#include "experiments/training/diffusion_objective.h"

namespace stepwise::training {

LossInputs objective_loss_inputs(const TrainingBatch& batch, const ObjectiveOptions& options,
                                 at::Generator& generator) {
  if (options.kind == ObjectiveKind::kAutoregressive) return ar_loss_inputs(batch);
  return diffusion_loss_inputs(batch, sample_diffusion_noise(batch, options.diffusion, generator), options.diffusion);
}

}  // namespace stepwise::training
