// Moving AdamW's per-parameter state (step, first and second moments) between a LibTorch
// torch::optim::AdamW and the name-keyed AdamSlot records of a training state, so optimizer state
// is stored by the parameters' Hugging Face names and survives a process restart bit for bit.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiments/training/training_state.h"

namespace torch::optim {
class AdamW;
}

namespace stepwise::training {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Copies of the state of every parameter in `parameters` that has one (none before the first step).
std::map<std::string, AdamSlot> export_adam_state(const torch::optim::AdamW& optimizer,
                                                  const NamedTensors& parameters);

// Installs `slots` as the state of the same-named parameters (which the optimizer must hold).
// Throws stepwise::Error naming a slot without a parameter or with the wrong shape.
void import_adam_state(torch::optim::AdamW& optimizer, const NamedTensors& parameters,
                       const std::map<std::string, AdamSlot>& slots);

}  // namespace stepwise::training
