// Training state <-> one safetensors file with JSON metadata.
#include "experiments/training/training_state.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_input.h"
#include "core/tensor/safetensors.h"

namespace stepwise::training {
namespace {

constexpr const char* kMetadataKey = "stepwise_training_state";
constexpr int kFormatVersion = 1;
const std::string kParamPrefix = "param/";
const std::string kAdamPrefix = "adam/";

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void save_training_state(const std::string& path, const TrainingState& state) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  nlohmann::json adam_steps = nlohmann::json::object();
  nlohmann::json parameter_order = nlohmann::json::array();
  for (const auto& [name, tensor] : state.parameters) {
    tensors.emplace_back(kParamPrefix + name, tensor);
    parameter_order.push_back(name);
  }
  for (const auto& [name, slot] : state.adam) {
    tensors.emplace_back(kAdamPrefix + name + "/exp_avg", slot.exp_avg);
    tensors.emplace_back(kAdamPrefix + name + "/exp_avg_sq", slot.exp_avg_sq);
    adam_steps[name] = slot.step;
  }
  nlohmann::json validations = nlohmann::json::array();
  for (const auto& record : state.validations)
    validations.push_back({{"step", record.step}, {"metrics", record.metrics}});
  nlohmann::json meta = {{"format_version", kFormatVersion},
                         {"step", state.step},
                         {"seed", state.seed},
                         {"elapsed_s", state.elapsed_s},
                         {"losses", state.losses},
                         {"validations", validations},
                         {"parameter_order", parameter_order},
                         {"adam_steps", adam_steps},
                         {"fingerprint", state.fingerprint}};
  write_safetensors(path, tensors, {{kMetadataKey, meta.dump()}});
}

TrainingState load_training_state(const std::string& path) {
  SafetensorsFile file(path);
  auto it = file.metadata().find(kMetadataKey);
  check(it != file.metadata().end(), path, ": not a stepwise training state (no '", kMetadataKey, "' metadata)");
  const nlohmann::json meta = parse_json_input(it->second, path + ": training-state metadata");
  TrainingState state;
  try {
    check(meta.at("format_version").get<int>() == kFormatVersion, path, ": training-state format version ",
          meta.at("format_version").dump(), " is not supported (expected ", kFormatVersion, ")");
    state.step = meta.at("step").get<int64_t>();
    state.seed = meta.at("seed").get<uint64_t>();
    state.elapsed_s = meta.at("elapsed_s").get<double>();
    state.losses = meta.at("losses").get<std::vector<double>>();
    for (const auto& record : meta.at("validations"))
      state.validations.push_back({record.at("step").get<int64_t>(),
                                   record.at("metrics").get<std::map<std::string, double>>()});
    state.fingerprint = meta.at("fingerprint").get<std::string>();
    for (const auto& name : meta.at("parameter_order")) {
      const std::string key = kParamPrefix + name.get<std::string>();
      check(file.contains(key), path, ": missing tensor '", key, "'");
      state.parameters.emplace_back(name.get<std::string>(), file.load(key));
    }
    for (const auto& [name, step] : meta.at("adam_steps").items()) {
      AdamSlot slot;
      slot.step = step.get<int64_t>();
      for (const char* part : {"/exp_avg", "/exp_avg_sq"}) {
        const std::string key = kAdamPrefix + name + part;
        check(file.contains(key), path, ": missing tensor '", key, "'");
      }
      slot.exp_avg = file.load(kAdamPrefix + name + "/exp_avg");
      slot.exp_avg_sq = file.load(kAdamPrefix + name + "/exp_avg_sq");
      state.adam.emplace(name, std::move(slot));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": training-state metadata is malformed (", e.what(), ")");
  }
  check(static_cast<int64_t>(state.losses.size()) == state.step, path, ": ", state.losses.size(),
        " losses recorded for ", state.step, " steps");
  for (const auto& name : file.names())
    check(starts_with(name, kParamPrefix) ||
              (starts_with(name, kAdamPrefix) && (ends_with(name, "/exp_avg") || ends_with(name, "/exp_avg_sq"))),
          path, ": unexpected tensor '", name, "'");
  return state;
}

}  // namespace stepwise::training
