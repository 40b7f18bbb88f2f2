// The `train:` block of a model in an experiment file: what to train (objective, model shape),
// how long and how (optimizer settings), on what data (the experiment's task generator with its own
// seed and size). The block's resolved text, together with the task settings, keys the trained-model
// cache, so an unchanged block reuses the model trained before. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "experiments/runner/yaml_reader.h"

namespace stepwise::runner {

struct TrainingSpec {
  std::string objective = "ar";        // ar | diffusion | mgdm (the study's MGDM preset)
  std::string diffusion_form = "paper";  // paper (t ~ U{0..T-1}, rate (t+1)/T) | llada (t ~ U(eps,1], 1/t)
  int64_t timesteps = 20;              // T of the paper's discrete schedule
  std::optional<std::string> weighting;  // time weight none | inverse-rate | linear (default: the form's own)
  std::optional<double> token_alpha, token_gamma;  // token reweighting (mgdm: 0.25 and the task's gamma)
  std::string validation_decoder = "entropy";  // diffusion validation: entropy | remasking (the study's setting)
  std::string preset = "small";        // tiny (the study's 6M shape) | small | custom
  std::optional<int64_t> layers, hidden, heads, kv_heads, intermediate;  // override the preset's shape
  int64_t steps = 2000;                // or from `epochs`: ceil(epochs * train_examples / batch_size)
  std::optional<double> epochs;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;
  int64_t warmup_steps = 100;        // default: min(100, steps / 10)
  double weight_decay = 0.01;
  double grad_clip = 1.0;
  int64_t train_examples = 20000;      // generated training problems
  uint64_t data_seed = 12345;          // must differ from the evaluation seed
  uint64_t seed = 0;                   // initialisation and batch order
  std::string precision = "mixed-bf16";  // float32 | bfloat16 | mixed-bf16 (float32 master weights, bf16 compute)
  std::optional<int64_t> block_length;    // block diffusion (diffusion objectives): blocks of this many positions
  std::optional<std::string> init_from;  // name of another model to start from (AR -> diffusion)
  int64_t checkpoint_every = 200;      // resumable training state every N steps

  // Canonical text of every setting (for the cache key).
  std::string canonical_text() const;
};

TrainingSpec parse_training_spec(const YamlReader& block);

}  // namespace stepwise::runner
