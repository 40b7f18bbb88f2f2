// A `train:` block with `world_size: N` > 1: its model is trained data-parallel by N rank processes on
// this machine over c10d Gloo. The runner that needs the model holds the cache lock and launches N copies
// of itself in rank mode (`run_experiment SPEC --train-rank NAME --train-dir DIR`), which build the same
// training problems as an in-process training, train their slices of every batch, and rank 0 writes the
// checkpoint and the training state into the cache directory; the launcher then takes that state as an
// in-process training's result.
#pragma once

#include <string>

#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/task_prompts.h"
#include "experiments/runner/task_training.h"

namespace stepwise::runner {

// Seconds a rank waits for the others at the rendezvous and at every collective.
inline constexpr int64_t kRankTimeout_s = 120;

// Launches the block's world_size ranks into `directory` (the model's cache directory, whose lock the
// caller holds) and waits for them: each gets --threads max(1, this process's torch threads / N).
// Returns the steps and training time the saved state records. Throws stepwise::Error naming the rank
// that failed (the state saved last stays for the next run to resume), and, when the ranks were stopped
// by SIGINT / SIGTERM, after recording the stop request so the runner ends as an interrupted one.
TrainedModel train_with_ranks(const ExperimentSpec& spec, const std::string& name, const std::string& directory);

// One rank of that training (this process's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): checks that
// `name`'s cache directory is still `directory` (the spec has not changed since the launch), joins the
// group and trains. Returns the process's exit code: 0 when every step is done, 130 when a stop signal
// ended training early (rank 0 saved the state).
int run_training_rank(const ExperimentSpec& spec, const TaskData& data, const std::string& name,
                      const std::string& directory);

}  // namespace stepwise::runner
