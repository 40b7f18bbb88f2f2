// The resumable state of a training run, kept in one safetensors file written atomically (so a
// crash leaves either the previous state or the new one): the master weights ("param/<name>"),
// AdamW moments ("adam/<name>/exp_avg", ".../exp_avg_sq") and, in the header metadata, a JSON record
// of the step count, run seed, per-step losses, validation results, elapsed time and the settings
// fingerprint a resumed run must match. Random streams are derived from (seed, step), so the step
// count is the whole RNG position.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace stepwise::training {

struct AdamSlot {
  int64_t step = 0;          // AdamW's own step count for this parameter
  torch::Tensor exp_avg;     // same shape and dtype as the parameter
  torch::Tensor exp_avg_sq;  // same shape and dtype as the parameter
};

struct ValidationRecord {
  int64_t step = 0;                       // optimizer steps completed when validated
  std::map<std::string, double> metrics;  // e.g. {"sequence_accuracy": 0.93}
};

struct TrainingState {
  int64_t step = 0;  // optimizer steps completed
  uint64_t seed = 0;
  std::vector<double> losses;  // loss of steps 0..step-1
  std::vector<ValidationRecord> validations;
  double elapsed_s = 0.0;    // training wall time over all runs so far
  std::string fingerprint;   // JSON text of the settings a resumed run must match
  std::vector<std::pair<std::string, torch::Tensor>> parameters;  // master weights by HF name
  std::map<std::string, AdamSlot> adam;                           // by HF name; empty before step 1
};

void save_training_state(const std::string& path, const TrainingState& state);
// Throws stepwise::Error naming the file when it is not a training state or is inconsistent.
TrainingState load_training_state(const std::string& path);

}  // namespace stepwise::training
