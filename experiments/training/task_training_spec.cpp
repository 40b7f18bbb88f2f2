// The checks and the canonical text of a task-training spec.
#include "experiments/training/task_training_spec.h"

#include <cmath>
#include <sstream>
#include <vector>

#include "core/kernels/kernels.h"

namespace stepwise::task_training {
namespace {

bool one_of(const std::string& value, const std::vector<std::string>& choices) {
  for (const auto& choice : choices)
    if (value == choice) return true;
  return false;
}

std::string choices_text(const std::vector<std::string>& choices) {
  std::string text;
  for (size_t i = 0; i < choices.size(); ++i) text += (i ? (i + 1 == choices.size() ? " or " : ", ") : "") + choices[i];
  return text;
}

}  // namespace

std::string resolve_precision(const std::string& precision, bool on_cuda) {
  if (precision != "auto") return precision;
  // The AVX-512 kernel path is exactly AVX512F/BW/VL plus BF16 with the register state enabled.
  return on_cuda || kernels::isa_supported(kernels::Isa::kAvx512) ? "mixed-bf16" : "float32";
}

int64_t TaskTrainingSpec::total_steps() const {
  if (!epochs) return steps;
  const double count = std::ceil(*epochs * static_cast<double>(train_examples) / static_cast<double>(batch_size));
  return std::max<int64_t>(1, static_cast<int64_t>(std::min(count, 1e15)));
}

std::optional<SpecProblem> find_spec_problem(const TaskTrainingSpec& spec) {
  auto choice = [](const char* key, const std::string& value,
                   const std::vector<std::string>& choices) -> std::optional<SpecProblem> {
    if (one_of(value, choices)) return std::nullopt;
    return SpecProblem{key, "expected " + choices_text(choices) + ", got '" + value + "'"};
  };
  auto range = [](const char* key, double value, double low, double high) -> std::optional<SpecProblem> {
    if (std::isfinite(value) && value >= low && value <= high) return std::nullopt;
    std::ostringstream out;
    out << "must lie in [" << low << ", " << high << "], got " << value;
    return SpecProblem{key, out.str()};
  };
  std::optional<SpecProblem> problem;
  if ((problem = choice("objective", spec.objective, {"ar", "diffusion", "mgdm"}))) return problem;
  if ((problem = choice("diffusion_form", spec.diffusion_form, {"paper", "llada"}))) return problem;
  if (spec.objective == "mgdm" && spec.diffusion_form != "paper")
    return SpecProblem{"diffusion_form", "the mgdm objective is the study's paper form"};
  if ((problem = range("timesteps", static_cast<double>(spec.timesteps), 1, 10000))) return problem;
  if (!spec.diffusion()) {
    if (spec.weighting) return SpecProblem{"weighting", "applies to diffusion objectives only"};
    if (spec.token_alpha) return SpecProblem{"token_alpha", "applies to diffusion objectives only"};
    if (spec.token_gamma) return SpecProblem{"token_gamma", "applies to diffusion objectives only"};
    if (!spec.shift_logits) return SpecProblem{"shift_logits", "applies to diffusion objectives only"};
    if (spec.block_length) return SpecProblem{"block_length", "applies to diffusion objectives only"};
    if (spec.validation_decoder == "remasking")
      return SpecProblem{"validation_decoder", "remasking applies to diffusion objectives only"};
  }
  if (spec.weighting) {
    if ((problem = choice("weighting", *spec.weighting, {"none", "inverse-rate", "linear"}))) return problem;
    if (*spec.weighting == "linear" && spec.diffusion_form == "llada")
      return SpecProblem{"weighting", "linear time weighting needs the paper form's discrete schedule"};
  }
  if (spec.block_length && (problem = range("block_length", static_cast<double>(*spec.block_length), 1, 4096)))
    return problem;
  if (spec.token_alpha && (problem = range("token_alpha", *spec.token_alpha, 1e-9, 1e6))) return problem;
  if (spec.token_gamma && (problem = range("token_gamma", *spec.token_gamma, 0.0, 100.0))) return problem;
  if ((problem = choice("validation_decoder", spec.validation_decoder, {"entropy", "remasking", "teacher-forced"})))
    return problem;
  if ((problem = choice("preset", spec.preset, {"tiny", "small", "custom"}))) return problem;
  if ((problem = choice("layout", spec.layout, {"qwen2", "llama"}))) return problem;
  if (spec.preset == "custom" && !(spec.layers && spec.hidden && spec.heads))
    return SpecProblem{"preset", "preset 'custom' needs layers, hidden and heads"};
  const std::pair<const char*, std::optional<int64_t>> shape[] = {
      {"layers", spec.layers}, {"hidden", spec.hidden}, {"heads", spec.heads}, {"kv_heads", spec.kv_heads},
      {"intermediate", spec.intermediate}};
  const double shape_limits[][2] = {{1, 64}, {8, 8192}, {1, 128}, {1, 128}, {8, 32768}};
  for (size_t i = 0; i < 5; ++i)
    if (shape[i].second &&
        (problem = range(shape[i].first, static_cast<double>(*shape[i].second), shape_limits[i][0], shape_limits[i][1])))
      return problem;
  if ((problem = range("batch_size", static_cast<double>(spec.batch_size), 1, 65536))) return problem;
  if ((problem = range("train_examples", static_cast<double>(spec.train_examples), 1, 1e9))) return problem;
  if (spec.epochs) {
    if ((problem = range("epochs", *spec.epochs, 1e-6, 1e6))) return problem;
    if (static_cast<double>(spec.total_steps()) > 1e12)
      return SpecProblem{"epochs", "more than 10^12 optimizer steps"};
  } else if ((problem = range("steps", static_cast<double>(spec.steps), 1, 1e12))) {
    return problem;
  }
  if ((problem = range("learning_rate", spec.learning_rate, 0.0, 10.0))) return problem;
  if (spec.warmup_steps &&
      (problem = range("warmup_steps", static_cast<double>(*spec.warmup_steps), 0, static_cast<double>(spec.total_steps()))))
    return problem;
  if ((problem = range("min_lr_ratio", spec.min_lr_ratio, 0.0, 1.0))) return problem;
  if ((problem = range("weight_decay", spec.weight_decay, 0.0, 1.0))) return problem;
  if ((problem = range("grad_clip", spec.grad_clip, 0.0, 1e6))) return problem;
  if ((problem = choice("precision", spec.precision, {"auto", "float32", "bfloat16", "mixed-bf16"}))) return problem;
  if ((problem = range("checkpoint_every", static_cast<double>(spec.checkpoint_every), 1, 1e12))) return problem;
  if ((problem = range("world_size", static_cast<double>(spec.world_size), 1, 256))) return problem;
  if (spec.batch_size % spec.world_size != 0)
    return SpecProblem{"world_size", "must divide batch_size " + std::to_string(spec.batch_size) + " (each rank trains " +
                                         "an equal slice of every batch), got " + std::to_string(spec.world_size)};
  if (spec.validate_every && (problem = range("validate_every", static_cast<double>(*spec.validate_every), 0, 1e12)))
    return problem;
  if ((problem = range("validation_examples", static_cast<double>(spec.validation_examples), 1, 1e6))) return problem;
  if (static_cast<double>(spec.data_seed) > 9.0e15) return SpecProblem{"data_seed", "must be at most 9e15"};
  return std::nullopt;
}

std::string TaskTrainingSpec::canonical_text() const {
  std::ostringstream out;
  auto optional = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  out << "objective=" << objective << ";form=" << diffusion_form << ";T=" << timesteps << ";preset=" << preset
      << ";layers=" << optional(layers) << ";hidden=" << optional(hidden) << ";heads=" << optional(heads)
      << ";kv_heads=" << optional(kv_heads) << ";intermediate=" << optional(intermediate)
      << ";steps=" << total_steps() << ";batch=" << batch_size << ";lr=" << learning_rate << ";warmup=" << warmup()
      << ";wd=" << weight_decay << ";clip=" << grad_clip << ";examples=" << train_examples
      << ";data_seed=" << data_seed << ";seed=" << seed << ";precision=" << precision
      << ";init_from=" << init_from.value_or("-");
  // Settings added later are written only when they differ from their default, so earlier cache keys
  // stay valid. How often and on how many problems validation runs does not change the weights.
  if (weighting) out << ";weighting=" << *weighting;
  if (token_alpha) out << ";token_alpha=" << *token_alpha;
  if (token_gamma) out << ";token_gamma=" << *token_gamma;
  if (validation_decoder != "entropy") out << ";validation=" << validation_decoder;
  if (block_length) out << ";block_length=" << *block_length;
  if (!shift_logits) out << ";shift=false";
  if (layout != "qwen2") out << ";layout=" << layout;
  if (min_lr_ratio != 0.1) out << ";min_lr_ratio=" << min_lr_ratio;
  return out.str();
}

}  // namespace stepwise::task_training
