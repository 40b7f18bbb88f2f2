// Autoregressive next-token objective: causal attention, output j predicts token j+1, and only
// target tokens are scored (the source and the right padding never enter the loss). The loss is the
// mean cross-entropy over the target tokens of the batch.
#pragma once

#include "experiments/training/loss_inputs.h"
#include "experiments/training/training_batch.h"

namespace stepwise::training {

LossInputs ar_loss_inputs(const TrainingBatch& batch);

}  // namespace stepwise::training
