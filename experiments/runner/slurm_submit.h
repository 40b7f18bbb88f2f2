// `run_experiment SPEC --submit slurm`: writes an sbatch script for a job array whose task I runs
// `run_experiment SPEC --shard I/N` (I from SLURM_ARRAY_TASK_ID, N written into the script), and a merge job that runs
// `run_experiment SPEC --merge` once every array task has ended (afterany, so a failed shard makes the
// merge fail naming its runs instead of leaving it pending forever), then submits both with sbatch.
// With dry_run the scripts and the commands are printed instead. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace stepwise::runner {

struct SlurmJobOptions {
  int64_t shards = 1;                       // array tasks (--array=0-(shards-1))
  std::optional<std::string> partition;     // --partition
  std::optional<std::string> time_limit;    // --time, e.g. 02:00:00
  std::optional<int64_t> cpus_per_task;     // --cpus-per-task, also the shard's --threads
  std::optional<int64_t> gpus_per_task;     // --gpus-per-task
};

struct SlurmSubmission {
  std::string experiment_name;  // job names: stepwise-NAME and stepwise-NAME-merge
  std::string runner;           // absolute path of the run_experiment executable
  std::string spec_file;        // absolute path of the experiment file
  std::string working_dir;      // the jobs' --chdir (where relative paths of the spec resolve)
  std::string script_dir;       // where the scripts and the jobs' logs go (OUTPUT_DIR/slurm, absolute)
  SlurmJobOptions options;
};

// The sbatch scripts' text. Values that would break a script line (whitespace, quotes, control
// characters) are refused with an error naming the flag.
std::string slurm_array_script(const SlurmSubmission& submission);
std::string slurm_merge_script(const SlurmSubmission& submission);

// Writes SCRIPT_DIR/shards.sbatch and SCRIPT_DIR/merge.sbatch and submits them ("sbatch --parsable",
// then the merge with --dependency=afterany:ARRAY_JOB), printing each job id; with dry_run prints
// both scripts and the sbatch commands and submits nothing. Errors: sbatch missing or failing (its
// exit status and output are in the message).
void submit_to_slurm(const SlurmSubmission& submission, bool dry_run);

}  // namespace stepwise::runner
