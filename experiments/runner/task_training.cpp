// Training for an experiment's task: the problems (none of them evaluated) for the shared task trainer,
// and the measured cost of a block's optimizer steps.
#include "experiments/runner/task_training.h"

#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/training/data_parallel.h"
#include "experiments/training/diffusion_init.h"
#include "experiments/training/plain_task_training.h"
#include "experiments/training/task_trainer.h"
#include "experiments/training/trainer.h"
#include "models/checkpoint.h"

namespace stepwise::runner {
namespace {

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

}  // namespace

TrainedModel train_for_task(const task_training::TaskTrainingSpec& training, const TaskSpec& task,
                            const TaskData& evaluation, const std::string& out_dir,
                            std::shared_ptr<const Transformer> init_from,
                            std::shared_ptr<training::DataParallelGroup> data_parallel) {
  check(!task.path, "task.path: models can only be trained on generated tasks (drop path, or give the model a path)");
  check(task.format == PromptFormat::kPlain, "task.format: models trained here use the plain format");
  check(!init_from || training.diffusion(),
        "train.init_from: only a diffusion model can start from another model (Dream's recipe)");

  // Training and validation problems, none of which is evaluated.
  std::set<std::string> evaluated;
  for (const auto& record : evaluation.evaluation) evaluated.insert(record.input);
  task_training::TaskTrainingData data;
  data.kind = task.kind;
  data.validation_metric = task.metric;
  for (const auto& record :
       generate(task, training.train_examples + training.validation_examples, training.data_seed)) {
    if (evaluated.count(record.input)) continue;
    (static_cast<int64_t>(data.validation.size()) < training.validation_examples ? data.validation : data.train)
        .push_back(record);
  }
  check(!data.train.empty(), "train: every generated training problem is also an evaluation problem");
  const std::string identity =
      nlohmann::json{
          {"task", task.label()}, {"data_seed", training.data_seed}, {"train_examples", training.train_examples}}
          .dump();
  const task_training::TaskTrainingRun run =
      task_training::train_task_model(training, data, out_dir, std::move(init_from), identity,
                                      !data_parallel || data_parallel->rank() == 0, data_parallel);

  TrainedModel trained;
  trained.model = run.model;
  trained.completed = run.completed() && run.outcome.steps_done >= training.total_steps();
  trained.train_s = run.outcome.train_s;
  trained.steps_done = run.outcome.steps_done;
  return trained;
}

ThroughputEstimate measure_training_step(const task_training::TaskTrainingSpec& training, const TaskSpec& task,
                                         int64_t timed_steps) {
  check(timed_steps >= 1, "timed steps must be at least 1, got ", timed_steps);
  constexpr int64_t kTimingBatch = 64;
  const int64_t batch = std::min(training.batch_size, kTimingBatch);
  // Enough problems for every timed batch; the real run's data set has the same shape of rows.
  const int64_t problems = std::min(training.train_examples, batch * (timed_steps + 1));
  std::vector<training::TrainingExample> examples =
      task_training::encode_examples(generate(task, problems, training.data_seed));
  if (training.diffusion())
    examples = training::pad_targets(std::move(examples), training::max_target_length(examples), CharTokenizer::kEos);
  training::TrainerOptions options = task_training::trainer_options(training, task.kind);
  const torch::ScalarType dtype =
      options.precision == training::TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  TransformerConfig config = task_training::task_model_config(training);
  if (training.diffusion()) config = training::diffusion_config(config, {CharTokenizer::kMask, training.shift_logits, training.block_length});
  std::shared_ptr<Transformer> model = random_transformer(config, training.seed, {dtype, torch::kCPU});

  options.steps = timed_steps + 1;
  options.batch_size = batch;
  options.warmup_steps = 1;
  options.save_every = 0;
  options.validate_every = 0;
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
