// The settings fingerprint a resumed run must match: objective, optimisation settings, data digest
// and model config.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "experiments/training/trainer.h"
#include "models/transformer.h"

namespace stepwise::training {
namespace {

// FNV-1a over every token id of the data set, in order.
uint64_t data_digest(const std::vector<TrainingExample>& examples) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto add = [&hash](int64_t value) {
    for (int byte = 0; byte < 8; ++byte) {
      hash ^= static_cast<uint64_t>(value >> (8 * byte)) & 0xffULL;
      hash *= 0x100000001b3ULL;
    }
  };
  for (const auto& example : examples) {
    add(static_cast<int64_t>(example.source_ids.size()));
    for (int64_t id : example.source_ids) add(id);
    add(static_cast<int64_t>(example.target_ids.size()));
    for (int64_t id : example.target_ids) add(id);
  }
  return hash;
}

}  // namespace

std::string training_fingerprint(const Transformer& model, const std::vector<TrainingExample>& train_set,
                                 const TrainerOptions& options) {
  const DiffusionOptions& d = options.objective.diffusion;
  nlohmann::json objective = {{"kind", objective_kind_name(options.objective.kind)}};
  if (options.objective.kind == ObjectiveKind::kDiffusion) {
    objective["schedule"] = noise_schedule_name(d.schedule);
    objective["timesteps"] = d.timesteps;
    objective["eps"] = d.eps;
    objective["weighting"] = loss_weighting_name(d.weighting);
    objective["normalization"] = loss_normalization_name(d.normalization);
    objective["shift_logits"] = d.shift_logits;
    objective["mask_token_id"] = d.mask_token_id;
    if (d.block_length) objective["block_length"] = *d.block_length;
    if (d.complementary_masks) objective["complementary_masks"] = true;
    if (d.token_reweighting)
      objective["token_reweighting"] = {{"alpha", d.token_reweighting->alpha}, {"gamma", d.token_reweighting->gamma}};
  }
  nlohmann::json run;
  try {
    run = nlohmann::json::parse(options.run_identity);
  } catch (const nlohmann::json::exception& e) {
    fail("run identity is not valid JSON: ", e.what());
  }
  nlohmann::json fingerprint = {
      {"objective", objective},
      {"steps", options.steps},
      {"batch_size", options.batch_size},
      {"seed", options.seed},
      {"lr", options.lr},
      {"warmup_steps", options.warmup_steps},
      {"min_lr_ratio", options.min_lr_ratio},
      {"weight_decay", options.weight_decay},
      {"betas", {options.beta1, options.beta2}},
      {"adam_eps", options.adam_eps},
      {"clip_norm", options.clip_norm ? nlohmann::json(*options.clip_norm) : nlohmann::json(nullptr)},
      {"precision", training_precision_name(options.precision)},
      {"pad_id", options.pad_id},
      {"train_examples", train_set.size()},
      {"train_digest", data_digest(train_set)},
      {"model", transformer_config_to_json(model.config())},
      {"run", run},
  };
  return fingerprint.dump();
}

}  // namespace stepwise::training
