// The shards of a sharded experiment seen together: `run_experiment SPEC --merge` combines the
// finished runs of every shard folder (<output_dir>/shards/I-of-N, shard_plan.h) into the results
// files a single process would have written for the same runs, and `--status` lists every run's state
// per shard. Both only read the shards' journals (a journal locked by a live shard counts as running);
// neither decodes nor trains.
#pragma once

#include <string>
#include <vector>

#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/results_metadata.h"
#include "experiments/runner/results_writer.h"
#include "experiments/runner/task_prompts.h"

namespace stepwise::runner {

struct MergeOutcome {
  ResultsPaths paths;
  size_t runs = 0;
  bool changed = false;  // false: the results files already held exactly these journals
};

// Writes <output_dir>/results.h5, summary.csv and predictions.jsonl from the shards' journals, runs in
// the spec's order, and <output_dir>/merged.txt naming the journals' content hash. Errors: a shard folder
// of another spec (its spec.yaml differs), or any run that no shard has finished (each named with the
// shard that owns it and its state there). A second merge of the same journals rewrites nothing.
MergeOutcome merge_shards(const ExperimentSpec& spec, const std::vector<RunSpec>& runs, const TaskData& data,
                          const ResultsMetadata& metadata);

// One block per shard folder: every run the shard owns with its state (finished, running, partial with
// its example count, damaged with the reason, missing), then runs no shard folder holds yet.
std::string shard_status(const ExperimentSpec& spec, const std::vector<RunSpec>& runs, const TaskData& data);

}  // namespace stepwise::runner
