// The training loop with resumable state.
#include "experiments/training/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/json_input.h"
#include "experiments/terminal/progress.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "models/checkpoint.h"
#include "experiments/training/batch_schedule.h"
#include "experiments/training/data_parallel.h"
#include "experiments/training/lr_schedule.h"
#include "experiments/training/objective.h"
#include "experiments/training/optimizer_state.h"
#include "experiments/training/seed_streams.h"
#include "experiments/training/stop_signal.h"
#include "models/transformer.h"

namespace stepwise::training {
namespace {

namespace fs = std::filesystem;

// The weights the optimizer updates (master) and those forward/backward run on (compute): the same
// tensors, except in mixed precision where compute is a bfloat16 copy refreshed before every step.
struct ParameterSets {
  NamedTensors master;
  NamedTensors compute;
  std::shared_ptr<Transformer> compute_model;  // mixed precision only
};

ParameterSets make_parameter_sets(Transformer& model, TrainingPrecision precision) {
  const torch::ScalarType expected = precision == TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  check(model.dtype() == expected, "training precision ", training_precision_name(precision), " needs ",
        expected == torch::kBFloat16 ? "bfloat16" : "float32", " model weights");
  ParameterSets sets;
  sets.master = model.named_parameters();
  if (precision == TrainingPrecision::kMixedBFloat16) {
    sets.compute_model = random_transformer(model.config(), 0, LoadOptions{torch::kBFloat16, model.device()});
    sets.compute = sets.compute_model->named_parameters();
    TORCH_INTERNAL_ASSERT(sets.compute.size() == sets.master.size());
  } else {
    sets.compute = sets.master;
  }
  for (auto& entry : sets.compute) entry.second.requires_grad_(true);
  return sets;
}

std::vector<torch::Tensor> tensors_of(const NamedTensors& named) {
  std::vector<torch::Tensor> out;
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(const NamedTensors& master, const TrainerOptions& options) {
  std::vector<torch::Tensor> decayed, plain;
  for (const auto& [name, tensor] : master) (tensor.dim() >= 2 ? decayed : plain).push_back(tensor);
  auto base = torch::optim::AdamWOptions(options.lr)
                  .betas(std::make_tuple(options.beta1, options.beta2))
                  .eps(options.adam_eps)
                  .weight_decay(options.weight_decay);
  auto no_decay = base;
  no_decay.weight_decay(0.0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(base));
  if (!plain.empty()) groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(no_decay));
  return std::make_unique<torch::optim::AdamW>(groups, base);
}

void set_learning_rate(torch::optim::AdamW& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

// Names of the top-level fingerprint keys whose values differ, with both values.
std::string fingerprint_difference(const std::string& saved_text, const std::string& current_text) {
  const nlohmann::json saved = parse_json_input(saved_text, "the saved training fingerprint");
  const nlohmann::json current = parse_json_input(current_text, "the training fingerprint");
  std::ostringstream out;
  for (const auto& [key, value] : current.items()) {
    const nlohmann::json before = saved.contains(key) ? saved[key] : nlohmann::json(nullptr);
    if (before != value) out << (out.tellp() > 0 ? "; " : "") << key << ": saved " << before.dump() << ", now " << value.dump();
  }
  return out.str();
}

void restore_parameters(const NamedTensors& master, const TrainingState& state, const std::string& path) {
  std::map<std::string, torch::Tensor> saved(state.parameters.begin(), state.parameters.end());
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : master) {
    auto it = saved.find(name);
    check(it != saved.end(), path, ": no saved weights for '", name, "'");
    check(it->second.sizes() == tensor.sizes() && it->second.scalar_type() == tensor.scalar_type(), path,
          ": saved weights for '", name, "' have shape ", it->second.sizes(), " and dtype ", it->second.scalar_type(),
          ", the model ", tensor.sizes(), " and ", tensor.scalar_type());
    tensor.copy_(it->second);
  }
  check(saved.size() == master.size(), path, ": holds ", saved.size(), " weight tensors, the model ", master.size());
}

std::string format_status(const std::vector<double>& losses, double lr, const std::vector<ValidationRecord>& validations) {
  const size_t window = std::min<size_t>(losses.size(), 20);
  double mean = 0.0;
  for (size_t i = losses.size() - window; i < losses.size(); ++i) mean += losses[i];
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "loss %.4f lr %.2e", window ? mean / window : 0.0, lr);
  std::string status = buffer;
  if (!validations.empty()) {
    for (const auto& [name, value] : validations.back().metrics) {
      std::snprintf(buffer, sizeof buffer, " %s %.3f", name.c_str(), value);
      status += buffer;
    }
  }
  return status;
}

}  // namespace

TrainingOutcome train_model(Transformer& model, const std::vector<TrainingExample>& train_set,
                            const TrainerOptions& options) {
  check(options.steps > 0, "training steps must be positive, got ", options.steps);
  check(options.save_every >= 0 && options.validate_every >= 0, "save/validate intervals must be non-negative");
  DataParallelGroup* const group = options.data_parallel.get();
  const bool writes = group == nullptr || group->rank() == 0;  // saves, validates
  if (group)
    check(options.batch_size >= group->world_size(), "data-parallel training: the global batch (", options.batch_size,
          ") must have at least one row per rank (", group->world_size(), " ranks)");
  if (options.objective.kind == ObjectiveKind::kDiffusion) {
    validate_diffusion_options(options.objective.diffusion);
    check(model.config().bidirectional, "the diffusion objective needs a bidirectional model config");
    check(model.config().shift_logits == options.objective.diffusion.shift_logits,
          "the diffusion objective's logit shift (", options.objective.diffusion.shift_logits,
          ") differs from the model config's (", model.config().shift_logits, ")");
    check(model.config().block_size == options.objective.diffusion.block_length,
          "the diffusion objective's block length (",
          options.objective.diffusion.block_length ? std::to_string(*options.objective.diffusion.block_length) : "none",
          ") differs from the model config's bd_size (",
          model.config().block_size ? std::to_string(*model.config().block_size) : "none", ")");
  } else {
    check(!model.config().bidirectional, "the AR objective needs a causal model config");
  }
  check_example_tokens(train_set, options.pad_id, model.config().vocab_size, "training set");
  if (options.objective.kind == ObjectiveKind::kDiffusion)
    check_token_ids(model.config(), {options.objective.diffusion.mask_token_id}, "the diffusion objective's mask");
  const LrSchedule schedule{options.lr, options.warmup_steps, options.steps, options.min_lr_ratio};
  learning_rate_at(schedule, 0);  // validates the schedule before any work
  Stopwatch run_clock;

  ParameterSets sets = make_parameter_sets(model, options.precision);
  std::unique_ptr<torch::optim::AdamW> optimizer = make_optimizer(sets.master, options);
  const std::vector<torch::Tensor> master_tensors = tensors_of(sets.master);

  TrainingState state;
  state.seed = options.seed;
  state.fingerprint = training_fingerprint(model, train_set, options);
  const std::string state_path = options.out_dir.empty() ? "" : (fs::path(options.out_dir) / kTrainingStateFile).string();
  if (!state_path.empty() && fs::exists(state_path)) {
    TrainingState saved = load_training_state(state_path);
    const std::string difference = fingerprint_difference(saved.fingerprint, state.fingerprint);
    check(difference.empty(), state_path, " belongs to a run with other settings (", difference,
          "); use another output directory or delete the file to start over");
    restore_parameters(sets.master, saved, state_path);
    import_adam_state(*optimizer, sets.master, saved.adam);
    saved.parameters.clear();
    saved.adam.clear();
    state = std::move(saved);
  }
  if (group) {
    // Identical already (same seed, or the same saved state); made certain once, so no rank drifts.
    group->broadcast_from_rank0(master_tensors);
  }

  TrainingOutcome outcome;
  outcome.resumed_from = state.step;
  auto save = [&]() {
    if (state_path.empty() || !writes) return;
    fs::create_directories(options.out_dir);
    state.parameters = sets.master;
    state.adam = export_adam_state(*optimizer, sets.master);
    save_training_state(state_path, state);
    state.parameters.clear();
    state.adam.clear();
    save_checkpoint(model, options.out_dir);
  };
  auto validate = [&]() {
    if (!options.validate || !writes) return;
    torch::NoGradGuard no_grad;
    state.validations.push_back({state.step, options.validate(model, state.step)});
  };

  StopSignalGuard signal_guard;
  BatchSchedule batches(static_cast<int64_t>(train_set.size()), options.batch_size, options.seed);
  std::optional<ProgressBar> progress;
  if (options.show_progress) progress.emplace(state.step > 0 ? "train (resumed)" : "train", options.steps - state.step);
  const int64_t first_step = state.step;
  double lr = learning_rate_at(schedule, std::min(state.step, options.steps - 1));
  while (state.step < options.steps) {
    Stopwatch step_clock;
    const int64_t step = state.step;
    lr = learning_rate_at(schedule, step);
    set_learning_rate(*optimizer, lr);
    const TrainingBatch batch = make_training_batch(train_set, batches.indices_for_step(step), options.pad_id);
    at::Generator noise = make_generator(derive_seed(options.seed, SeedStream::kNoise, static_cast<uint64_t>(step)));
    LossInputs inputs = objective_loss_inputs(batch, options.objective, noise);
    if (group) {
      const auto [begin, end] = rows_of_rank(inputs.tokens.size(0), group->rank(), group->world_size());
      inputs = slice_rows(inputs, begin, end);
    }

    if (sets.compute_model) {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < sets.master.size(); ++i) sets.compute[i].second.copy_(sets.master[i].second);
    }
    for (auto& entry : sets.compute) entry.second.mutable_grad() = torch::Tensor();
    torch::Tensor loss = loss_of(sets.compute_model ? *sets.compute_model : model, inputs);
    double loss_value = loss.item<double>();
    loss.backward();
    if (sets.compute_model) {
      for (size_t i = 0; i < sets.master.size(); ++i)
        sets.master[i].second.mutable_grad() = sets.compute[i].second.grad().to(torch::kFloat32);
    }
    bool stop_agreed = false;  // data-parallel: a stop requested on any rank before this step's all-reduce
    if (group) {
      // The global batch's gradient and loss are the sums of the ranks'; a stop on any rank stops them all.
      std::vector<torch::Tensor> summed;
      for (auto& entry : sets.master) {
        torch::Tensor& grad = entry.second.mutable_grad();
        if (!grad.defined()) grad = torch::zeros_like(entry.second);
        summed.push_back(grad);
      }
      const torch::Tensor loss_and_stop = torch::tensor({loss_value, stop_requested() ? 1.0 : 0.0}, torch::kFloat64);
      summed.push_back(loss_and_stop);
      group->all_reduce_sum(summed);
      loss_value = loss_and_stop[0].item<double>();
      stop_agreed = loss_and_stop[1].item<double>() > 0.0;
    }
    check(std::isfinite(loss_value), "training diverged: loss is ", loss_value, " at step ", step,
          " (lower the learning rate, or train in float32 / mixed-bf16)");
    double grad_norm = 0.0;
    if (options.clip_norm) grad_norm = torch::nn::utils::clip_grad_norm_(master_tensors, *options.clip_norm);
    optimizer->step();

    state.losses.push_back(loss_value);
    state.step = step + 1;
    const double step_s = step_clock.seconds();
    state.elapsed_s += step_s;
    if (options.on_step) options.on_step({state.step, loss_value, lr, grad_norm, step_s});

    const bool finished = state.step == options.steps;
    // Alone: a signal up to now (during this step's report too) stops after this step; the ranks of a
    // group stop where they agreed to, so they never wait for each other.
    const bool stop = group ? stop_agreed : stop_requested();
    if (options.validate_every > 0 && state.step % options.validate_every == 0 && !finished) validate();
    if (finished) validate();
    if (finished || (options.save_every > 0 && state.step % options.save_every == 0) || stop) save();
    if (progress) progress->update(state.step - first_step, format_status(state.losses, lr, state.validations));
    if (stop && !finished) {
      outcome.stopped_early = true;
      break;
    }
  }
  if (progress && !outcome.stopped_early)
    progress->finish(format_status(state.losses, lr, state.validations));
  if (outcome.resumed_from == options.steps && !state_path.empty() && writes &&
      !fs::exists(fs::path(options.out_dir) / "model.safetensors"))
    save_checkpoint(model, options.out_dir);

  for (auto& entry : sets.compute) {
    entry.second.mutable_grad() = torch::Tensor();
    entry.second.requires_grad_(false);
  }
  for (auto& entry : sets.master) entry.second.mutable_grad() = torch::Tensor();
  outcome.steps_done = state.step;
  outcome.train_s = state.elapsed_s;
  outcome.run_s = run_clock.seconds();
  outcome.losses = std::move(state.losses);
  outcome.validations = std::move(state.validations);
  return outcome;
}

}  // namespace stepwise::training
