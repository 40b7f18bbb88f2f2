// AdamW state export / import. LibTorch keys optimizer state by the parameter's TensorImpl address.
#include "experiments/training/optimizer_state.h"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include "core/error.h"

namespace stepwise::training {
namespace {

std::string state_key(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}

}  // namespace

std::map<std::string, AdamSlot> export_adam_state(const torch::optim::AdamW& optimizer,
                                                  const NamedTensors& parameters) {
  std::map<std::string, AdamSlot> slots;
  const auto& state = optimizer.state();
  for (const auto& [name, parameter] : parameters) {
    auto it = state.find(state_key(parameter));
    if (it == state.end()) continue;
    const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    slots.emplace(name, AdamSlot{adam.step(), adam.exp_avg().detach().clone(), adam.exp_avg_sq().detach().clone()});
  }
  return slots;
}

void import_adam_state(torch::optim::AdamW& optimizer, const NamedTensors& parameters,
                       const std::map<std::string, AdamSlot>& slots) {
  std::map<std::string, torch::Tensor> by_name(parameters.begin(), parameters.end());
  for (const auto& [name, slot] : slots) {
    auto it = by_name.find(name);
    check(it != by_name.end(), "optimizer state for '", name, "', which the model does not have");
    const torch::Tensor& parameter = it->second;
    check(slot.exp_avg.sizes() == parameter.sizes() && slot.exp_avg_sq.sizes() == parameter.sizes(),
          "optimizer state for '", name, "' has shape ", slot.exp_avg.sizes(), ", the parameter ", parameter.sizes());
    auto adam = std::make_unique<torch::optim::AdamWParamState>();
    adam->step(slot.step);
    adam->exp_avg(slot.exp_avg.to(parameter.options()).clone());
    adam->exp_avg_sq(slot.exp_avg_sq.to(parameter.options()).clone());
    optimizer.state()[state_key(parameter)] = std::move(adam);
  }
}

}  // namespace stepwise::training
