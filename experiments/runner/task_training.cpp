// Task-specific training: data, model shape, objective and a real-decoder validation hook.
#include "experiments/runner/task_training.h"

#include <torch/torch.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/tensor/runtime.h"
#include "experiments/runner/builtin_decoders.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/scoring.h"
#include "experiments/training/plain_task_training.h"
#include "models/checkpoint.h"
#include "experiments/training/diffusion_init.h"
#include "experiments/training/model_presets.h"
#include "experiments/training/trainer.h"

namespace stepwise::runner {
namespace {

constexpr int64_t kValidationExamples = 64;

std::vector<tasks::TaskRecord> generate(const TaskSpec& task, int64_t count, uint64_t seed) {
  if (task.kind == tasks::TaskKind::kSudoku) return tasks::generate_sudoku_records(task.sudoku, count, seed);
  if (task.kind == tasks::TaskKind::kPathStar) {
    // Training graphs never come from the held-out tenth that path-star evaluation uses.
    tasks::PathStarSpec spec = task.pathstar;
    spec.split = tasks::PathStarSplit::kInDistribution;
    return tasks::generate_pathstar_records(spec, count, seed);
  }
  return tasks::generate_countdown_records(task.countdown, count, seed);
}

TransformerConfig model_shape(const TrainingSpec& training) {
  training::PresetRequest request;
  request.preset = training.preset == "custom" ? "small" : training.preset;
  request.vocab_size = CharTokenizer().vocab_size();
  TransformerConfig config = training::model_preset(request);
  if (training.layers) config.num_layers = *training.layers;
  if (training.hidden) config.hidden_size = *training.hidden;
  if (training.heads) config.num_heads = *training.heads;
  config.num_kv_heads = training.kv_heads.value_or(config.num_heads);
  if (training.intermediate) config.intermediate_size = *training.intermediate;
  check(config.hidden_size % config.num_heads == 0, "train: hidden (", config.hidden_size,
        ") must be a multiple of heads (", config.num_heads, ")");
  config.head_dim = config.hidden_size / config.num_heads;
  config.validate("train block");
  return config;
}

training::ObjectiveOptions objective_of(const TrainingSpec& training, tasks::TaskKind task) {
  training::ObjectiveOptions objective = task_training::plain_objective(
      training.objective, task, training.diffusion_form, training.timesteps, /*shift_logits=*/true);
  if (training.weighting) objective.diffusion.weighting = training::parse_loss_weighting(*training.weighting);
  if (training.token_alpha || training.token_gamma) {
    training::TokenReweighting reweighting = objective.diffusion.token_reweighting.value_or(
        training::TokenReweighting{training::kMgdmAlpha, task_training::mgdm_gamma_for(task)});
    if (training.token_alpha) reweighting.alpha = *training.token_alpha;
    if (training.token_gamma) reweighting.gamma = *training.token_gamma;
    objective.diffusion.token_reweighting = reweighting;
  }
  if (training.block_length) {  // Fast-dLLM v2's recipe: block-causal attention and complementary masks
    objective.diffusion.block_length = training.block_length;
    objective.diffusion.complementary_masks = true;
  }
  return objective;
}

// Decodes the validation problems with the decoder the model is meant for and scores them: AR greedy,
// or Dream's entropy ordering with one step per token (block diffusion: block by block), or the study's
// stochastic remasking decoder.
training::ValidationHook real_decoder_validation(const TaskSpec& task, std::vector<tasks::TaskRecord> records,
                                                 bool diffusion, const std::string& diffusion_decoder,
                                                 int64_t gen_length, std::optional<int64_t> block_length) {
  const DecoderSpec spec = !diffusion                         ? ar_greedy_spec()
                           : block_length                     ? block_diffusion_spec(*block_length, *block_length)
                           : diffusion_decoder == "remasking" ? study_remasking_spec()
                                                              : dream_entropy_spec(gen_length);
  return [task, records = std::move(records), spec, gen_length](const Transformer& model, int64_t) {
    // Non-owning handle: the trainer owns the model for the duration of the call.
    std::shared_ptr<const Transformer> handle(std::shared_ptr<const Transformer>{}, &model);
    std::unique_ptr<Decoder> decoder = make_decoder(spec, handle);
    const std::vector<std::string> predictions =
        task_training::decode_inputs(*decoder, task.kind, records, gen_length, static_cast<int64_t>(records.size()));
    tasks::ScoreSummary summary = tasks::score_predictions(task.metric, records, predictions);
    return training::ValidationMetrics{{tasks::metric_name(task.metric), summary.accuracy()}};
  };
}

}  // namespace

TrainedModel train_for_task(const TrainingSpec& training, const TaskSpec& task, const TaskData& evaluation,
                            const std::string& out_dir, std::shared_ptr<const Transformer> init_from) {
  check(!task.path, "task.path: models can only be trained on generated tasks (drop path, or give the model a path)");
  check(task.format == PromptFormat::kPlain, "task.format: models trained here use the plain format");

  // Training and validation problems, none of which is evaluated.
  std::set<std::string> evaluated;
  for (const auto& record : evaluation.evaluation) evaluated.insert(record.input);
  std::vector<tasks::TaskRecord> train_records, validation_records;
  for (const auto& record : generate(task, training.train_examples + kValidationExamples, training.data_seed)) {
    if (evaluated.count(record.input)) continue;
    (static_cast<int64_t>(validation_records.size()) < kValidationExamples ? validation_records : train_records)
        .push_back(record);
  }
  check(!train_records.empty(), "train: every generated training problem is also an evaluation problem");
  std::vector<training::TrainingExample> examples = task_training::encode_examples(train_records);
  const bool diffusion = training.objective != "ar";
  const int64_t target_length =
      std::max(training::max_target_length(examples),
               training::max_target_length(task_training::encode_examples(validation_records)));
  // Diffusion canvases have a fixed length: targets are filled with [EOS] to the longest one, so the
  // model learns to end the answer and fill the rest of the canvas.
  if (diffusion) examples = training::pad_targets(std::move(examples), target_length, CharTokenizer::kEos);

  const training::TrainingPrecision precision = training::parse_training_precision(training.precision);
  // bfloat16 training keeps bfloat16 weights; the other modes keep float32 master weights.
  const torch::ScalarType dtype =
      precision == training::TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  std::shared_ptr<Transformer> model;
  if (init_from) {
    check(diffusion, "train.init_from: only a diffusion model can start from another model (Dream's recipe)");
    model = training::diffusion_model_from(*init_from, {CharTokenizer::kMask, true, training.block_length});
  } else {
    TransformerConfig config = model_shape(training);
    if (diffusion) config = training::diffusion_config(config, {CharTokenizer::kMask, true, training.block_length});
    model = random_transformer(config, training.seed, {dtype, torch::kCPU});
  }

  training::TrainerOptions options;
  options.objective = objective_of(training, task.kind);
  options.steps = training.steps;
  options.batch_size = training.batch_size;
  options.seed = training.seed;
  options.lr = training.learning_rate;
  options.warmup_steps = training.warmup_steps;
  options.weight_decay = training.weight_decay;
  options.clip_norm = training.grad_clip > 0.0 ? std::optional<double>(training.grad_clip) : std::nullopt;
  options.precision = precision;
  options.pad_id = CharTokenizer::kPad;
  options.out_dir = out_dir;
  options.save_every = training.checkpoint_every;
  options.validate_every = std::max<int64_t>(training.steps / 4, 1);
  options.validate =
      real_decoder_validation(task, validation_records, diffusion, training.validation_decoder, target_length,
                              training.block_length);
  options.run_identity =
      nlohmann::json{
          {"task", task.label()}, {"data_seed", training.data_seed}, {"train_examples", training.train_examples}}
          .dump();
  training::TrainingOutcome outcome = training::train_model(*model, examples, options);

  TrainedModel trained;
  trained.model = model;
  trained.completed = !outcome.stopped_early && outcome.steps_done >= training.steps;
  trained.train_s = outcome.train_s;
  trained.steps_done = outcome.steps_done;
  return trained;
}

ThroughputEstimate measure_training_step(const TrainingSpec& training, const TaskSpec& task, int64_t timed_steps) {
  check(timed_steps >= 1, "timed steps must be at least 1, got ", timed_steps);
  const bool diffusion = training.objective != "ar";
  constexpr int64_t kTimingBatch = 64;
  const int64_t batch = std::min(training.batch_size, kTimingBatch);
  // Enough problems for every timed batch; the real run's data set has the same shape of rows.
  const int64_t problems = std::min(training.train_examples, batch * (timed_steps + 1));
  std::vector<training::TrainingExample> examples = task_training::encode_examples(generate(task, problems, training.data_seed));
  if (diffusion)
    examples = training::pad_targets(std::move(examples), training::max_target_length(examples), CharTokenizer::kEos);
  const training::TrainingPrecision precision = training::parse_training_precision(training.precision);
  const torch::ScalarType dtype =
      precision == training::TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  TransformerConfig config = model_shape(training);
  if (diffusion) config = training::diffusion_config(config, {CharTokenizer::kMask, true, training.block_length});
  std::shared_ptr<Transformer> model = random_transformer(config, training.seed, {dtype, torch::kCPU});

  training::TrainerOptions options;
  options.objective = objective_of(training, task.kind);
  options.steps = timed_steps + 1;
  options.batch_size = batch;
  options.seed = training.seed;
  options.lr = training.learning_rate;
  options.warmup_steps = 1;
  options.precision = precision;
  options.pad_id = CharTokenizer::kPad;
  options.show_progress = false;
  std::vector<double> step_seconds;
  options.on_step = [&step_seconds](const training::StepReport& report) {
    if (report.steps_done > 1) step_seconds.push_back(report.step_s);
  };
  training::train_model(*model, examples, options);
  std::sort(step_seconds.begin(), step_seconds.end());
  ThroughputEstimate estimate;
  estimate.timed_steps = static_cast<int64_t>(step_seconds.size());
  estimate.timed_batch = batch;
  if (!step_seconds.empty())
    estimate.seconds_per_step = step_seconds[step_seconds.size() / 2] * static_cast<double>(training.batch_size) /
                                static_cast<double>(batch);
  return estimate;
}

}  // namespace stepwise::runner
