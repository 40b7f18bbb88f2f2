// Writing and submitting the sbatch scripts of a sharded sweep.
#include "experiments/runner/slurm_submit.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"

namespace stepwise::runner {
namespace {

namespace fs = std::filesystem;

constexpr char kArrayScript[] = "shards.sbatch";
constexpr char kMergeScript[] = "merge.sbatch";

// A value that goes into an #SBATCH line or a command line of the script unquoted-safe: printable,
// no whitespace, no quotes, no shell metacharacters that matter inside double quotes.
std::string checked_value(const std::string& value, const std::string& what) {
  check(!value.empty(), what, ": empty value");
  for (const char c : value)
    check(c > ' ' && c != 0x7f && c != '"' && c != '\'' && c != '\\' && c != '$' && c != '`', what, ": '", value,
          "' holds a character that cannot go into an sbatch script (whitespace, a quote, \\, $ or `)");
  return value;
}

std::string common_header(const SlurmSubmission& submission, const std::string& job_name, const std::string& log) {
  std::ostringstream out;
  out << "#!/bin/bash\n";
  out << "#SBATCH --job-name=" << checked_value(job_name, "experiment name") << "\n";
  out << "#SBATCH --chdir=" << checked_value(submission.working_dir, "working directory") << "\n";
  out << "#SBATCH --output=" << checked_value((fs::path(submission.script_dir) / log).string(), "output_dir") << "\n";
  out << "#SBATCH --ntasks=1\n";
  const SlurmJobOptions& options = submission.options;
  if (options.partition) out << "#SBATCH --partition=" << checked_value(*options.partition, "--partition") << "\n";
  if (options.time_limit) out << "#SBATCH --time=" << checked_value(*options.time_limit, "--time") << "\n";
  return out.str();
}

std::string command_line(const SlurmSubmission& submission, const std::string& flags) {
  return "exec \"" + checked_value(submission.runner, "run_experiment path") + "\" \"" +
         checked_value(submission.spec_file, "experiment file") + "\" " + flags + "\n";
}

// Runs `command` through the shell, returning its stdout; throws naming the command when it fails.
std::string run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  check(pipe != nullptr, "cannot run: ", command);
  std::string output;
  char buffer[4096];
  while (size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
  const int status = ::pclose(pipe);
  const bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
    fail("cannot submit: `", command, "` failed: sbatch not found (install slurm-client, or run on a login node)");
  check(ok, "cannot submit: `", command, "` failed (exit ", WIFEXITED(status) ? WEXITSTATUS(status) : -1, "): ", output);
  return output;
}

// sbatch --parsable prints "JOBID" or "JOBID;CLUSTER".
std::string job_id_of(const std::string& output, const std::string& command) {
  const std::string id = output.substr(0, output.find(';'));
  check(!id.empty() && id.find_first_not_of("0123456789") == std::string::npos, "cannot submit: `", command,
        "` printed '", output, "', not a job id");
  return id;
}

}  // namespace

std::string slurm_array_script(const SlurmSubmission& submission) {
  const SlurmJobOptions& options = submission.options;
  check(options.shards >= 1 && options.shards <= 100000, "--shards must lie in 1..100000, got ", options.shards);
  std::ostringstream out;
  out << common_header(submission, "stepwise-" + submission.experiment_name, "shard-%a.log");
  out << "#SBATCH --array=0-" << options.shards - 1 << "\n";
  // The shard count is written out rather than read from SLURM_ARRAY_TASK_MIN/MAX, so resubmitting part
  // of the array (sbatch --array=2 shards.sbatch) keeps every task's shard.
  std::string flags = "--shard \"${SLURM_ARRAY_TASK_ID}/" + std::to_string(options.shards) + "\"";
  if (options.cpus_per_task) {
    check(*options.cpus_per_task >= 1, "--cpus-per-task must be at least 1, got ", *options.cpus_per_task);
    out << "#SBATCH --cpus-per-task=" << *options.cpus_per_task << "\n";
    flags += " --threads " + std::to_string(*options.cpus_per_task);
  }
  if (options.gpus_per_task) {
    check(*options.gpus_per_task >= 0, "--gpus-per-task must be at least 0, got ", *options.gpus_per_task);
    if (*options.gpus_per_task > 0) out << "#SBATCH --gpus-per-task=" << *options.gpus_per_task << "\n";
  }
  out << "# Array task I runs shard I of " << options.shards << "; resubmit a failed one with sbatch --array=I THIS_FILE.\n";
  out << command_line(submission, flags);
  return out.str();
}

std::string slurm_merge_script(const SlurmSubmission& submission) {
  std::ostringstream out;
  out << common_header(submission, "stepwise-" + submission.experiment_name + "-merge", "merge.log");
  out << "# Submitted with --dependency=afterany on the shards' array job: fails naming any unfinished run.\n";
  out << command_line(submission, "--merge");
  return out.str();
}

void submit_to_slurm(const SlurmSubmission& submission, bool dry_run) {
  const std::string array_script = slurm_array_script(submission);
  const std::string merge_script = slurm_merge_script(submission);
  const std::string array_path = (fs::path(submission.script_dir) / kArrayScript).string();
  const std::string merge_path = (fs::path(submission.script_dir) / kMergeScript).string();
  const std::string array_command = "sbatch --parsable " + array_path;
  const std::string merge_command_head = "sbatch --parsable --dependency=afterany:";
  if (dry_run) {
    std::cout << "# " << array_path << "\n" << array_script << "\n# " << merge_path << "\n" << merge_script << "\n";
    std::cout << "would run: " << array_command << "\n";
    std::cout << "would run: " << merge_command_head << "ARRAY_JOB_ID " << merge_path << "\n";
    return;
  }
  std::error_code error;
  fs::create_directories(submission.script_dir, error);
  check(!error, submission.script_dir, ": cannot create the folder of the sbatch scripts (", error.message(), ")");
  write_file_atomically(array_path, array_script);
  write_file_atomically(merge_path, merge_script);
  const std::string array_job = job_id_of(run_command(array_command), array_command);
  std::cout << "submitted shards: job array " << array_job << " (" << submission.options.shards << " tasks, logs "
            << (fs::path(submission.script_dir) / "shard-N.log").string() << ")\n";
  const std::string merge_command = merge_command_head + array_job + " " + merge_path;
  const std::string merge_job = job_id_of(run_command(merge_command), merge_command);
  std::cout << "submitted merge: job " << merge_job << " after " << array_job << " (log "
            << (fs::path(submission.script_dir) / "merge.log").string() << ")\n";
}

}  // namespace stepwise::runner
