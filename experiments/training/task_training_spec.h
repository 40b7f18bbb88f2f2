// How to train a model on a synthetic task: the one description that `stepwise train` (from its flags)
// and an experiment's `train:` blocks (from YAML) both produce, with each setting's default written once,
// here. train_task_model (task_trainer.h) runs it. canonical_text() keys the runner's trained-model
// cache, so an unchanged block reuses the model trained before. Torch-free.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace stepwise::task_training {

// The training precision a spec's "auto" (the default of `train:` blocks and `stepwise train`) stands
// for: "mixed-bf16" where bfloat16 matmuls run on native instructions (a CUDA device, or a CPU with
// AVX512-BF16), "float32" elsewhere, where oneDNN emulates bfloat16 and float32 trains faster. Any other
// name is returned unchanged, so resolving twice is harmless.
std::string resolve_precision(const std::string& precision, bool on_cuda);

struct TaskTrainingSpec {
  // What to train.
  std::string objective = "ar";          // ar | diffusion | mgdm (the study's MGDM preset)
  std::string diffusion_form = "paper";  // paper (t ~ U{0..T-1}, rate (t+1)/T) | llada (t ~ U(eps,1], 1/t)
  int64_t timesteps = 20;                // T of the paper's discrete schedule
  std::optional<std::string> weighting;  // time weight none | inverse-rate | linear (default: the form's own)
  std::optional<double> token_alpha, token_gamma;  // token reweighting (mgdm: 0.25 and the task's gamma)
  bool shift_logits = true;              // Dream's logit shift (false: LLaDA's in-place logits)
  std::optional<int64_t> block_length;   // block diffusion: block-causal blocks of this many positions,
                                         // masks inside one block, complementary masks (Fast-dLLM v2)
  std::string preset = "small";          // tiny (the study's 6M shape) | small | custom
  std::string layout = "qwen2";          // qwen2 (q/k/v bias) | llama (no bias)
  std::optional<int64_t> layers, hidden, heads, kv_heads, intermediate;  // override the preset's shape
  std::optional<std::string> init_from;  // start from another model (a directory or a model name)

  // How long and how.
  int64_t steps = 2000;                  // or from `epochs`: ceil(epochs * train_examples / batch_size)
  std::optional<double> epochs;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;
  std::optional<int64_t> warmup_steps;   // default: min(100, steps / 10)
  double min_lr_ratio = 0.1;             // end of the cosine as a fraction of the peak
  double weight_decay = 0.01;
  double grad_clip = 1.0;                // 0 = no clipping
  std::string precision = resolve_precision("auto", /*on_cuda=*/false);  // float32 | bfloat16 | mixed-bf16
                                         // (float32 master weights, bf16 compute); see resolve_precision
  uint64_t seed = 0;                     // initialisation, batch order and diffusion noise
  int64_t checkpoint_every = 200;        // resumable training state every N steps
  int64_t world_size = 1;                // data-parallel ranks that train it (an experiment's train: block);
                                         // not in canonical_text: N ranks with the global batch train the
                                         // weights one process does, up to float summation order

  // On what data (the task generator with its own seed).
  int64_t train_examples = 20000;        // generated training problems
  uint64_t data_seed = 12345;            // must differ from the evaluation seed

  // Validation during training.
  std::string validation_decoder = "entropy";  // diffusion: entropy | remasking (the study's setting);
                                               // any objective: teacher-forced (no decoder)
  std::optional<int64_t> validate_every;       // default: a quarter of the steps
  int64_t validation_examples = 64;            // problems decoded at each validation

  bool diffusion() const { return objective != "ar"; }
  // The optimizer steps: `epochs` over `train_examples` when given, else `steps`.
  int64_t total_steps() const;
  int64_t warmup() const { return warmup_steps.value_or(std::min<int64_t>(100, total_steps() / 10)); }
  int64_t validation_interval() const { return validate_every.value_or(std::max<int64_t>(total_steps() / 4, 1)); }
  // Canonical text of every setting (for the cache key).
  std::string canonical_text() const;
};

// The first setting that is out of range or contradicts another (mgdm is the paper form, linear
// weighting needs it, diffusion-only settings on an AR objective, a custom preset's shape), named by
// its YAML key ("token_alpha"; the command line spells it "--token-alpha"); nullopt when all is well.
// The one check of a spec: the YAML reader reports it at the key's line, `stepwise train` as a flag.
struct SpecProblem {
  std::string key;
  std::string message;
};
std::optional<SpecProblem> find_spec_problem(const TaskTrainingSpec& spec);

}  // namespace stepwise::task_training
