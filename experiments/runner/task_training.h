// Training a model for the experiment's task from a `train:` block: generates the training and
// validation problems (seeded separately from the evaluation set, and never containing an evaluated
// puzzle) and hands them to the shared task trainer (experiments/training/task_trainer.h), which
// `stepwise train` uses too, into a cache directory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/task_prompts.h"

namespace stepwise {
class Transformer;
}
namespace stepwise::training {
class DataParallelGroup;
}

namespace stepwise::runner {

struct TrainedModel {
  std::shared_ptr<Transformer> model;
  bool completed = false;  // false when a stop signal ended training early (state saved for resuming)
  double train_s = 0.0;
  int64_t steps_done = 0;
};

// Trains (or resumes training) into `out_dir`. `init_from` is the starting model when the block names
// one. Validation every few hundred steps decodes held-out problems with a real decoder. With
// `data_parallel` this process is one rank of the group (rank_training.h): it trains its slice of every
// batch, and only rank 0 reports progress and writes `out_dir`.
TrainedModel train_for_task(const task_training::TaskTrainingSpec& training, const TaskSpec& task, const TaskData& evaluation,
                            const std::string& out_dir, std::shared_ptr<const Transformer> init_from,
                            std::shared_ptr<training::DataParallelGroup> data_parallel = nullptr);

// Measured cost of the block's optimizer steps on this machine: one warm-up step, then `timed_steps`
// timed ones on a fresh model of the block's shape with real batches of min(batch_size, 64) rows
// (nothing is saved); the median step time is scaled linearly to the block's batch size.
struct ThroughputEstimate {
  double seconds_per_step = 0.0;  // at the block's batch size
  int64_t timed_steps = 0;
  int64_t timed_batch = 0;        // rows of the timed batches
  double total_hours(int64_t steps) const { return seconds_per_step * static_cast<double>(steps) / 3600.0; }
};
ThroughputEstimate measure_training_step(const task_training::TaskTrainingSpec& training, const TaskSpec& task, int64_t timed_steps);

}  // namespace stepwise::runner
