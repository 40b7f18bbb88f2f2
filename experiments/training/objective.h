// One entry point for every objective: the loss inputs of a batch under `options`, drawing any
// noise from `generator` (the AR objective draws none).
#pragma once

#include <ATen/core/Generator.h>

#include "experiments/training/loss_inputs.h"
#include "experiments/training/objective_options.h"
#include "experiments/training/training_batch.h"

namespace stepwise::training {

LossInputs objective_loss_inputs(const TrainingBatch& batch, const ObjectiveOptions& options,
                                 at::Generator& generator);

}  // namespace stepwise::training
