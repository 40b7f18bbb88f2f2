// Parsing of `train:` blocks.
#include "experiments/runner/training_spec.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace stepwise::runner {

TrainingSpec parse_training_spec(const YamlReader& block) {
  TrainingSpec spec;
  spec.objective = block.choice("objective", {"ar", "diffusion", "mgdm"});
  spec.diffusion_form = block.choice("diffusion_form", {"paper", "llada"}, std::string("paper"));
  if (spec.objective == "mgdm" && spec.diffusion_form != "paper")
    block.fail_at("diffusion_form", "the mgdm objective is the study's paper form");
  spec.timesteps = block.integer("timesteps", 20, 1, 10000);
  const bool diffusion = spec.objective != "ar";
  for (const char* key : {"weighting", "token_alpha", "token_gamma", "validation_decoder", "block_length"})
    if (!diffusion && block.has(key)) block.fail_at(key, "applies to diffusion objectives only");
  if (block.has("weighting")) spec.weighting = block.choice("weighting", {"none", "inverse-rate", "linear"});
  if (spec.weighting == "linear" && spec.diffusion_form == "llada")
    block.fail_at("weighting", "linear time weighting needs the paper form's discrete schedule");
  spec.token_alpha = block.optional_number("token_alpha", 1e-9, 1e6);
  spec.token_gamma = block.optional_number("token_gamma", 0.0, 100.0);
  spec.block_length = block.optional_integer("block_length", 1, 4096);
  spec.validation_decoder = block.choice("validation_decoder", {"entropy", "remasking"}, std::string("entropy"));
  spec.preset = block.choice("preset", {"tiny", "small", "custom"}, std::string("small"));
  spec.layers = block.optional_integer("layers", 1, 64);
  spec.hidden = block.optional_integer("hidden", 8, 8192);
  spec.heads = block.optional_integer("heads", 1, 128);
  spec.kv_heads = block.optional_integer("kv_heads", 1, 128);
  spec.intermediate = block.optional_integer("intermediate", 8, 32768);
  if (spec.preset == "custom" && !(spec.layers && spec.hidden && spec.heads))
    block.fail_at("preset", "preset 'custom' needs layers, hidden and heads");
  spec.batch_size = block.integer("batch_size", 64, 1, 65536);
  spec.train_examples = block.integer("train_examples", 20000, 1);
  spec.epochs = block.optional_number("epochs", 1e-6, 1e6);
  if (spec.epochs && block.has("steps")) block.fail_at("epochs", "give steps or epochs, not both");
  if (spec.epochs) {
    const double steps = std::ceil(*spec.epochs * static_cast<double>(spec.train_examples) /
                                   static_cast<double>(spec.batch_size));
    if (steps > 1e12) block.fail_at("epochs", "more than 10^12 optimizer steps");
    spec.steps = std::max<int64_t>(1, static_cast<int64_t>(steps));
  } else {
    spec.steps = block.integer("steps", 2000, 1);
  }
  spec.learning_rate = block.number("learning_rate", 1e-3, 0.0, 10.0);
  // Default warm-up: a tenth of training, at most 100 steps.
  spec.warmup_steps = block.integer("warmup_steps", std::min<int64_t>(100, spec.steps / 10), 0, spec.steps);
  spec.weight_decay = block.number("weight_decay", 0.01, 0.0, 1.0);
  spec.grad_clip = block.number("grad_clip", 1.0, 0.0);
  spec.data_seed = static_cast<uint64_t>(block.integer("data_seed", 12345, 0));
  spec.seed = static_cast<uint64_t>(block.integer("seed", 0, 0));
  spec.precision = block.choice("precision", {"float32", "bfloat16", "mixed-bf16"}, std::string("mixed-bf16"));
  if (block.has("init_from")) spec.init_from = block.string("init_from");
  spec.checkpoint_every = block.integer("checkpoint_every", 200, 1);
  block.finish();
  return spec;
}

std::string TrainingSpec::canonical_text() const {
  std::ostringstream out;
  auto optional = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  out << "objective=" << objective << ";form=" << diffusion_form << ";T=" << timesteps << ";preset=" << preset
      << ";layers=" << optional(layers) << ";hidden=" << optional(hidden) << ";heads=" << optional(heads)
      << ";kv_heads=" << optional(kv_heads) << ";intermediate=" << optional(intermediate) << ";steps=" << steps
      << ";batch=" << batch_size << ";lr=" << learning_rate << ";warmup=" << warmup_steps
      << ";wd=" << weight_decay << ";clip=" << grad_clip << ";examples=" << train_examples
      << ";data_seed=" << data_seed << ";seed=" << seed << ";precision=" << precision
      << ";init_from=" << init_from.value_or("-");
  // Settings added later are written only when given, so earlier cache keys stay valid.
  if (weighting) out << ";weighting=" << *weighting;
  if (token_alpha) out << ";token_alpha=" << *token_alpha;
  if (token_gamma) out << ";token_gamma=" << *token_gamma;
  if (validation_decoder != "entropy") out << ";validation=" << validation_decoder;
  if (block_length) out << ";block_length=" << *block_length;
  return out.str();
}

}  // namespace stepwise::runner
