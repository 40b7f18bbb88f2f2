// Parsing of `train:` blocks: every key read with its type and its range, the defaults taken from
// TaskTrainingSpec, then the spec's one check (find_spec_problem) reported at the offending key's line.
#include "experiments/runner/training_spec.h"

namespace stepwise::runner {

task_training::TaskTrainingSpec parse_training_spec(const YamlReader& block) {
  const task_training::TaskTrainingSpec defaults;
  task_training::TaskTrainingSpec spec;
  spec.objective = block.choice("objective", {"ar", "diffusion", "mgdm"});
  spec.diffusion_form = block.choice("diffusion_form", {"paper", "llada"}, defaults.diffusion_form);
  spec.timesteps = block.integer("timesteps", defaults.timesteps, 1, 10000);
  if (block.has("weighting")) spec.weighting = block.choice("weighting", {"none", "inverse-rate", "linear"});
  spec.token_alpha = block.optional_number("token_alpha", 1e-9, 1e6);
  spec.token_gamma = block.optional_number("token_gamma", 0.0, 100.0);
  spec.shift_logits = block.boolean("shift_logits", defaults.shift_logits);
  spec.block_length = block.optional_integer("block_length", 1, 4096);
  spec.validation_decoder =
      block.choice("validation_decoder", {"entropy", "remasking", "teacher-forced"}, defaults.validation_decoder);
  spec.validate_every = block.optional_integer("validate_every", 0);
  spec.validation_examples = block.integer("validation_examples", defaults.validation_examples, 1, 1000000);
  spec.preset = block.choice("preset", {"tiny", "small", "custom"}, defaults.preset);
  spec.layout = block.choice("layout", {"qwen2", "llama"}, defaults.layout);
  spec.layers = block.optional_integer("layers", 1, 64);
  spec.hidden = block.optional_integer("hidden", 8, 8192);
  spec.heads = block.optional_integer("heads", 1, 128);
  spec.kv_heads = block.optional_integer("kv_heads", 1, 128);
  spec.intermediate = block.optional_integer("intermediate", 8, 32768);
  spec.batch_size = block.integer("batch_size", defaults.batch_size, 1, 65536);
  spec.train_examples = block.integer("train_examples", defaults.train_examples, 1, 1000000000);
  spec.epochs = block.optional_number("epochs", 1e-6, 1e6);
  if (spec.epochs && block.has("steps")) block.fail_at("epochs", "give steps or epochs, not both");
  if (!spec.epochs) spec.steps = block.integer("steps", defaults.steps, 1);
  spec.learning_rate = block.number("learning_rate", defaults.learning_rate, 0.0, 10.0);
  spec.warmup_steps = block.optional_integer("warmup_steps", 0);
  spec.min_lr_ratio = block.number("min_lr_ratio", defaults.min_lr_ratio, 0.0, 1.0);
  spec.weight_decay = block.number("weight_decay", defaults.weight_decay, 0.0, 1.0);
  spec.grad_clip = block.number("grad_clip", defaults.grad_clip, 0.0);
  spec.data_seed = static_cast<uint64_t>(block.integer("data_seed", static_cast<int64_t>(defaults.data_seed), 0));
  spec.seed = static_cast<uint64_t>(block.integer("seed", static_cast<int64_t>(defaults.seed), 0));
  spec.precision = block.choice("precision", {"auto", "float32", "bfloat16", "mixed-bf16"}, "auto");
  if (block.has("init_from")) spec.init_from = block.string("init_from");
  spec.checkpoint_every = block.integer("checkpoint_every", defaults.checkpoint_every, 1);
  spec.world_size = block.integer("world_size", defaults.world_size, 1, 256);
  block.finish();
  if (auto problem = task_training::find_spec_problem(spec)) block.fail_at(problem->key, problem->message);
  return spec;
}

}  // namespace stepwise::runner
