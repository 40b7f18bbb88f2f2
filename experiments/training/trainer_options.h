// Settings of one training run and what it reports. Numeric settings that shape the weights (and
// the data-set size and model config) form the run's fingerprint: resuming from a training state
// written with a different fingerprint is refused, naming the differing settings.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiments/training/objective_options.h"
#include "experiments/training/training_state.h"
#include "experiments/training/validation.h"

namespace stepwise::training {

class DataParallelGroup;  // data_parallel.h

enum class TrainingPrecision {
  kFloat32,        // float32 weights, optimizer state and compute
  kBFloat16,       // bfloat16 weights and optimizer state (LibTorch C++ has no CPU autocast)
  kMixedBFloat16,  // float32 master weights and optimizer state, bfloat16 forward/backward copy
};
std::string training_precision_name(TrainingPrecision precision);
TrainingPrecision parse_training_precision(const std::string& name);  // "float32" | "bfloat16" | "mixed-bf16"

struct StepReport {
  int64_t steps_done = 0;  // including this one
  double loss = 0.0;
  double lr = 0.0;
  double grad_norm = 0.0;  // before clipping
  double step_s = 0.0;     // wall time of this step
};

struct TrainerOptions {
  ObjectiveOptions objective;
  int64_t steps = 1000;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  double lr = 1e-3;             // peak learning rate
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;    // cosine end as a fraction of the peak
  double weight_decay = 0.01;   // matrices only; norms and biases are not decayed
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  std::optional<double> clip_norm = 1.0;  // global L2 gradient-norm clip
  TrainingPrecision precision = TrainingPrecision::kFloat32;
  int64_t pad_id = 0;

  // Where the Hugging Face checkpoint (config.json + model.safetensors) and training_state.safetensors
  // go; empty = nothing written and nothing resumed (tests, throwaway runs).
  std::string out_dir;
  int64_t save_every = 0;      // also every K steps (0 = only at the end or when stopped)
  int64_t validate_every = 0;  // also every K steps (0 = only at the end)
  ValidationHook validate;     // empty = no validation
  std::string run_identity = "{}";  // extra JSON object that must match on resume (task, data seeds, ...)
  std::function<void(const StepReport&)> on_step;  // after every step (logging, tests)
  bool show_progress = true;
  // Data-parallel training: this process is one rank of the group; it trains on its rows of every
  // global batch of batch_size, gradients are summed over the ranks, and only rank 0 validates and
  // writes out_dir (every rank reads out_dir's state when resuming). Empty: one process.
  std::shared_ptr<DataParallelGroup> data_parallel;
};

struct TrainingOutcome {
  int64_t steps_done = 0;     // total over all runs
  int64_t resumed_from = 0;   // step the run started at (0 = fresh)
  bool stopped_early = false; // stopped by a signal before `steps`
  double train_s = 0.0;       // time in optimizer steps, over all runs
  double run_s = 0.0;         // wall time of this call (validation and saving included)
  std::vector<double> losses;  // every step's loss
  std::vector<ValidationRecord> validations;
};

}  // namespace stepwise::training
