// Data-parallel training of a `train:` block: the launcher (under the model-cache lock) and the ranks.
#include "experiments/runner/rank_training.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "experiments/runner/model_provider.h"
#include "experiments/training/distributed.h"
#include "experiments/training/stop_signal.h"
#include "experiments/training/trainer.h"
#include "experiments/training/training_state.h"

namespace stepwise::runner {
namespace fs = std::filesystem;

namespace {

constexpr int kStoppedCode = 130;  // a rank's exit when a stop signal ended its training early

}  // namespace

TrainedModel train_with_ranks(const ExperimentSpec& spec, const std::string& name, const std::string& directory) {
  const task_training::TaskTrainingSpec& block = *spec.models.at(name).train;
  const int64_t ranks = block.world_size;
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads() / ranks);
  std::cerr << "model " << name << ": training on " << ranks << " data-parallel ranks (c10d Gloo, " << threads
            << (threads == 1 ? " thread" : " threads") << " each)\n";
  const int status = training::run_local_ranks(
      ranks, {"run_experiment", spec.file, "--train-rank", name, "--train-dir", directory, "--threads", std::to_string(threads)},
      kRankTimeout_s);
  const fs::path state_path = fs::path(directory) / training::kTrainingStateFile;
  if (status == kStoppedCode) {
    training::request_stop();
    fail("model ", name, ": its ", ranks, " data-parallel ranks were stopped by a signal; the state saved last is in ",
         directory, ": run again to resume");
  }
  check(status == 0, "model ", name, ": data-parallel training over ", ranks, " ranks failed (exit status ", status,
        ", the failing rank is named above); the state saved last is kept in ", directory, ": run again to resume");
  check(fs::exists(state_path), "model ", name, ": the ", ranks, " ranks finished but rank 0 left no ",
        state_path.string());
  const training::TrainingState state = training::load_training_state(state_path.string());
  TrainedModel trained;
  trained.completed = state.step >= block.total_steps();
  trained.steps_done = state.step;
  trained.train_s = state.elapsed_s;
  return trained;
}

int run_training_rank(const ExperimentSpec& spec, const TaskData& data, const std::string& name,
                      const std::string& directory) {
  const auto found = spec.models.find(name);
  check(found != spec.models.end() && found->second.train && found->second.train->world_size > 1, "--train-rank ",
        name, ": ", spec.file, " has no model of that name with a train: block of world_size above 1");
  const task_training::TaskTrainingSpec& block = *found->second.train;
  const std::optional<training::RankEnvironment> where = training::rank_environment(training::process_environment());
  check(where.has_value(), "--train-rank ", name, ": RANK and WORLD_SIZE are not set (the rank processes are started "
        "by run_experiment itself)");
  check(where->world_size == block.world_size, "--train-rank ", name, ": WORLD_SIZE=", where->world_size,
        " differs from the block's world_size ", block.world_size);
  ModelProvider provider(spec, data);
  check(provider.cache_directory(name) == directory, "--train-rank ", name, ": the model's cache directory is now ",
        provider.cache_directory(name), ", not ", directory, ": ", spec.file, " changed after the ranks were launched");
  const std::shared_ptr<training::DataParallelGroup> group = training::connect_gloo_group(*where, kRankTimeout_s);
  std::shared_ptr<const Transformer> start;
  if (block.init_from) {
    const ModelSpec& from = spec.models.at(*block.init_from);
    // The launcher got it before launching: a rank only loads it.
    check(!from.train || provider.is_trained(*block.init_from), "--train-rank ", name, ": the model it starts from, ",
          *block.init_from, ", is not trained yet");
    start = provider.get(*block.init_from);
  }
  const TrainedModel trained = train_for_task(block, spec.task, data, directory, start, group);
  return trained.completed ? 0 : kStoppedCode;
}

}  // namespace stepwise::runner
