// Training a model on a synthetic task from a TaskTrainingSpec: the one path `stepwise train` and the
// runner's `train:` blocks share. The caller brings the problems (each caller keeps its own rule for
// what is held out); this builds the model (preset and overrides, or from another model), the
// objective in the character vocabulary, the optimizer settings and the validation during training
// (a real decoder and the task scorer, or teacher forcing), and runs the resumable trainer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "experiments/tasks/metric.h"
#include "experiments/tasks/task_kind.h"
#include "experiments/tasks/task_record.h"
#include "experiments/training/objective_options.h"
#include "experiments/training/task_training_spec.h"
#include "experiments/training/trainer_options.h"
#include "models/transformer_config.h"

namespace stepwise {
class Transformer;
}

namespace stepwise::task_training {

struct TaskTrainingData {
  tasks::TaskKind kind = tasks::TaskKind::kSudoku;
  tasks::Metric validation_metric = tasks::Metric::kSudokuValid;  // scored at every validation
  std::vector<tasks::TaskRecord> train;       // never containing a validation or evaluation input
  std::vector<tasks::TaskRecord> validation;  // the first spec.validation_examples are decoded
};

struct TaskTrainingRun {
  std::shared_ptr<Transformer> model;
  training::TrainingOutcome outcome;
  training::ObjectiveOptions objective;
  int64_t gen_length = 0;        // longest target (training or validation): the diffusion canvas
  int64_t examples = 0;          // training examples
  std::string validation_name;   // decoder of the validation ("teacher-forced" without one)
  int64_t validation_problems = 0;
  bool completed() const;        // every step done (not stopped by a signal)
};

// The causal config of the spec's preset with its shape overrides, over the character vocabulary.
TransformerConfig task_model_config(const TaskTrainingSpec& spec);
// The spec's objective for `task` (mask token and logit shift of the character vocabulary).
training::ObjectiveOptions task_objective(const TaskTrainingSpec& spec, tasks::TaskKind task);
// The optimizer settings of the spec (steps, batch, schedule, AdamW, clipping, precision, saving).
training::TrainerOptions trainer_options(const TaskTrainingSpec& spec, tasks::TaskKind task);

// Trains (or resumes training) into `out_dir` (empty: nothing saved or resumed). `init_from` is the
// starting model when the spec has one: an AR model becomes a Dream-style diffusion model for a
// diffusion objective. `run_identity` (a JSON object) must match when resuming.
TaskTrainingRun train_task_model(const TaskTrainingSpec& spec, const TaskTrainingData& data, const std::string& out_dir,
                                 std::shared_ptr<const Transformer> init_from, const std::string& run_identity,
                                 bool show_progress,
                                 std::shared_ptr<training::DataParallelGroup> data_parallel = nullptr);

}  // namespace stepwise::task_training
