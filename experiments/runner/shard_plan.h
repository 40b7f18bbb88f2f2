// Splitting an experiment's grid over N processes ("shards"), e.g. the tasks of a Slurm job array:
// which runs shard I of N owns, and where in the results directory it keeps its journals and results.
// The assignment is a pure function of the spec's runs and N (run ids and cost estimates), so every
// shard of one spec computes the same split without talking to the others, and a rerun of a shard gets
// the same runs back. Balanced by an estimate of each run's cost (estimated forward passes per example).
// Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiments/runner/experiment_spec.h"

namespace stepwise::runner {

// Shard `index` (0-based) of `count`.
struct ShardId {
  int64_t index = 0;
  int64_t count = 1;
  std::string name() const;  // "I-of-N", the shard's folder under <output_dir>/shards/
};

// Reads the value of `--shard`: "I/N" (0 <= I < N <= 100000), or "slurm", which takes I and N from the
// job array's variables in `environment`: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN and
// SLURM_ARRAY_TASK_MAX (I = ID - MIN, N = MAX - MIN + 1), or with SLURM_ARRAY_TASK_COUNT when MIN/MAX
// are absent (I = ID). Errors name the flag or variable and the bad value.
ShardId parse_shard(const std::string& text, const std::map<std::string, std::string>& environment);
// The process's environment variables whose name starts with "SLURM_".
std::map<std::string, std::string> slurm_environment();

// Estimated forward passes one example of the run costs: its diffusion or remasking steps, else its
// generation length (AR and speculative decoding take about one forward per generated token).
int64_t estimate_run_cost(const RunSpec& run, const ExperimentSpec& spec);

// The shard (0..count-1) of every run, parallel to `runs`: runs taken by decreasing cost (ties by
// run id), each given to the shard with the least estimated cost so far (ties: the lowest index).
std::vector<int64_t> assign_shards(const std::vector<RunSpec>& runs, const ExperimentSpec& spec, int64_t count);

// The runs of `shard`, in the spec's order.
std::vector<RunSpec> runs_of_shard(const std::vector<RunSpec>& runs, const ExperimentSpec& spec, const ShardId& shard);

// <output_dir>/shards: where every shard keeps its part of the results.
std::string shards_directory(const std::string& output_dir);
// <output_dir>/shards/I-of-N: the shard's spec.yaml, journal/ and its own results files.
std::string shard_directory(const std::string& output_dir, const ShardId& shard);
// The shard a folder name "I-of-N" stands for; nullopt for any other name.
std::optional<ShardId> shard_of_directory_name(const std::string& name);

}  // namespace stepwise::runner
