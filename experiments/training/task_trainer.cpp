// Training a model on a synthetic task from its spec: model, objective, optimizer settings, validation.
#include "experiments/training/task_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/runner/builtin_decoders.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/tasks/scoring.h"
#include "experiments/training/diffusion_init.h"
#include "experiments/training/model_presets.h"
#include "experiments/training/plain_task_training.h"
#include "experiments/training/trainer.h"
#include "experiments/training/validation.h"
#include "models/checkpoint.h"

namespace stepwise::task_training {
namespace {

torch::ScalarType weight_dtype(training::TrainingPrecision precision) {
  // bfloat16 training keeps bfloat16 weights; the other modes keep float32 master weights.
  return precision == training::TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
}

// The decoder a validation decodes with: AR greedy to [EOS] for AR models; for diffusion models
// Dream's entropy ordering with one step per token (the remasking decoder, which re-predicts every
// position each step, can stay at 0 % while the model already solves problems this way), or the
// study's own stochastic remasking setting; block-diffusion models decode block by block.
runner::DecoderSpec validation_decoder(const TaskTrainingSpec& spec, int64_t gen_length) {
  if (!spec.diffusion()) return runner::ar_greedy_spec({CharTokenizer::kEos});
  if (spec.block_length) return runner::block_diffusion_spec(*spec.block_length, *spec.block_length);
  if (spec.validation_decoder == "remasking") return runner::study_remasking_spec();
  return runner::dream_entropy_spec(gen_length);
}

training::ValidationHook real_decoder_validation(const runner::DecoderSpec& decoder_spec,
                                                 const TaskTrainingData& data, std::vector<tasks::TaskRecord> records,
                                                 int64_t gen_length) {
  const tasks::TaskKind kind = data.kind;
  const tasks::Metric metric = data.validation_metric;
  return [decoder_spec, kind, metric, records = std::move(records), gen_length](const Transformer& model, int64_t) {
    // Non-owning handle: the trainer owns the model for the duration of the call.
    std::shared_ptr<const Transformer> handle(std::shared_ptr<const Transformer>{}, &model);
    std::unique_ptr<Decoder> decoder = runner::make_decoder(decoder_spec, handle);
    const std::vector<std::string> predictions =
        decode_inputs(*decoder, kind, records, gen_length, static_cast<int64_t>(records.size()));
    const tasks::ScoreSummary summary = tasks::score_predictions(metric, records, predictions);
    return training::ValidationMetrics{{tasks::metric_name(metric), summary.accuracy()}};
  };
}

std::shared_ptr<Transformer> initial_model(const TaskTrainingSpec& spec, std::shared_ptr<const Transformer> init_from) {
  const training::DiffusionConversion conversion{CharTokenizer::kMask, spec.shift_logits, spec.block_length};
  const torch::ScalarType dtype = weight_dtype(training::parse_training_precision(spec.precision));
  if (init_from) {
    check(init_from->config().vocab_size == CharTokenizer().vocab_size(), "init_from: vocabulary of ",
          init_from->config().vocab_size, ", the character tokenizer has ", CharTokenizer().vocab_size());
    if (spec.diffusion()) return training::diffusion_model_from(*init_from, conversion);
    check(!init_from->config().bidirectional, "init_from: a diffusion model; AR training needs a causal one");
    auto copy = random_transformer(init_from->config(), 0, {dtype, torch::kCPU});
    torch::NoGradGuard no_grad;
    std::map<std::string, torch::Tensor> source;
    for (const auto& [name, tensor] : init_from->named_parameters()) source[name] = tensor;
    for (auto& [name, tensor] : copy->named_parameters()) tensor.copy_(source.at(name));
    return copy;
  }
  TransformerConfig config = task_model_config(spec);
  if (spec.diffusion()) config = training::diffusion_config(config, conversion);
  return random_transformer(config, spec.seed, {dtype, torch::kCPU});
}

}  // namespace

bool TaskTrainingRun::completed() const { return !outcome.stopped_early; }

TransformerConfig task_model_config(const TaskTrainingSpec& spec) {
  training::PresetRequest request;
  request.preset = spec.preset == "custom" ? "small" : spec.preset;
  request.layout = spec.layout;
  request.vocab_size = CharTokenizer().vocab_size();
  TransformerConfig config = training::model_preset(request);
  if (spec.layers) config.num_layers = *spec.layers;
  if (spec.hidden) config.hidden_size = *spec.hidden;
  if (spec.heads) config.num_heads = *spec.heads;
  config.num_kv_heads = spec.kv_heads.value_or(config.num_heads);
  if (spec.intermediate) config.intermediate_size = *spec.intermediate;
  check(config.hidden_size % config.num_heads == 0, "train: hidden (", config.hidden_size,
        ") must be a multiple of heads (", config.num_heads, ")");
  config.head_dim = config.hidden_size / config.num_heads;
  config.validate("train block");
  return config;
}

training::ObjectiveOptions task_objective(const TaskTrainingSpec& spec, tasks::TaskKind task) {
  training::ObjectiveOptions objective =
      plain_objective(spec.objective, task, spec.diffusion_form, spec.timesteps, spec.shift_logits);
  if (spec.weighting) objective.diffusion.weighting = training::parse_loss_weighting(*spec.weighting);
  if (spec.token_alpha || spec.token_gamma) {
    training::TokenReweighting reweighting = objective.diffusion.token_reweighting.value_or(
        training::TokenReweighting{training::kMgdmAlpha, mgdm_gamma_for(task)});
    if (spec.token_alpha) reweighting.alpha = *spec.token_alpha;
    if (spec.token_gamma) reweighting.gamma = *spec.token_gamma;
    objective.diffusion.token_reweighting = reweighting;
  }
  if (spec.block_length) {  // Fast-dLLM v2's recipe: block-causal attention and complementary masks
    objective.diffusion.block_length = spec.block_length;
    objective.diffusion.complementary_masks = true;
  }
  if (spec.diffusion()) training::validate_diffusion_options(objective.diffusion);
  return objective;
}

training::TrainerOptions trainer_options(const TaskTrainingSpec& spec, tasks::TaskKind task) {
  training::TrainerOptions options;
  options.objective = task_objective(spec, task);
  options.steps = spec.total_steps();
  options.batch_size = spec.batch_size;
  options.seed = spec.seed;
  options.lr = spec.learning_rate;
  options.warmup_steps = spec.warmup();
  options.min_lr_ratio = spec.min_lr_ratio;
  options.weight_decay = spec.weight_decay;
  options.clip_norm = spec.grad_clip > 0.0 ? std::optional<double>(spec.grad_clip) : std::nullopt;
  options.precision = training::parse_training_precision(spec.precision);
  options.pad_id = CharTokenizer::kPad;
  options.save_every = spec.checkpoint_every;
  options.validate_every = spec.validation_interval();
  return options;
}

TaskTrainingRun train_task_model(const TaskTrainingSpec& spec, const TaskTrainingData& data, const std::string& out_dir,
                                 std::shared_ptr<const Transformer> init_from, const std::string& run_identity,
                                 bool show_progress, std::shared_ptr<training::DataParallelGroup> data_parallel) {
  if (auto problem = find_spec_problem(spec)) throw Error("train: " + problem->key + ": " + problem->message);
  check(!data.train.empty(), "train: no training problems");
  TaskTrainingRun run;
  std::vector<training::TrainingExample> examples = encode_examples(data.train);
  run.gen_length = std::max(training::max_target_length(examples),
                            training::max_target_length(encode_examples(data.validation)));
  // Diffusion canvases have a fixed length: targets are filled with [EOS] to the longest one, so the
  // model learns to end the answer and fill the rest of the canvas.
  if (spec.diffusion()) examples = training::pad_targets(std::move(examples), run.gen_length, CharTokenizer::kEos);
  run.examples = static_cast<int64_t>(examples.size());

  run.model = initial_model(spec, std::move(init_from));
  training::TrainerOptions options = trainer_options(spec, data.kind);
  run.objective = options.objective;
  options.out_dir = out_dir;
  options.run_identity = run_identity;
  options.show_progress = show_progress;
  options.data_parallel = std::move(data_parallel);

  const auto subset_size = std::min<size_t>(static_cast<size_t>(spec.validation_examples), data.validation.size());
  std::vector<tasks::TaskRecord> subset(data.validation.begin(), data.validation.begin() + subset_size);
  run.validation_problems = static_cast<int64_t>(subset.size());
  if (subset.empty()) {
    run.validation_name = "none";
  } else if (spec.validation_decoder == "teacher-forced") {
    run.validation_name = "teacher-forced";
    std::vector<training::TrainingExample> held_out = encode_examples(subset);
    if (spec.diffusion()) held_out = training::pad_targets(std::move(held_out), run.gen_length, CharTokenizer::kEos);
    options.validate =
        training::make_teacher_forced_validation(std::move(held_out), options.objective, 64, CharTokenizer::kPad);
  } else {
    const runner::DecoderSpec decoder = validation_decoder(spec, run.gen_length);
    run.validation_name = decoder.name;
    options.validate = real_decoder_validation(decoder, data, std::move(subset), run.gen_length);
  }
  run.outcome = training::train_model(*run.model, examples, options);
  return run;
}

}  // namespace stepwise::task_training
