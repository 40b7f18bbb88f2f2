// `run_experiment SPEC.yaml`: the researcher's entry point. Validates the whole spec and its sweep
// grid before any work, gets the models (loading or training them), runs every point of the grid
// with journaling (an interrupted experiment resumes where it stopped), sharing one prefix store
// between runs when the spec has a prefix_cache, writes the results files after every finished run
// and prints a summary table at the end. With --shard it runs only its share of the grid into its own
// part of the results directory; --merge and --status read those parts (shard_plan.h, shard_merge.h);
// --submit slurm submits the shards as a job array and the merge after it (slurm_submit.h).
#include <c10/util/Exception.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/tensor/runtime.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/model_provider.h"
#include "experiments/runner/prefix_cache.h"
#include "experiments/runner/concurrent_training.h"
#include "experiments/runner/rank_training.h"
#include "experiments/runner/results_metadata.h"
#include "experiments/runner/results_writer.h"
#include "experiments/runner/run_executor.h"
#include "experiments/runner/shard_merge.h"
#include "experiments/runner/shard_plan.h"
#include "experiments/runner/slurm_submit.h"
#include "experiments/runner/summary_table.h"
#include "experiments/runner/task_prompts.h"
#include "experiments/runner/task_training.h"
#include "experiments/training/stop_signal.h"

namespace stepwise::runner {

constexpr int kExitInterrupted = 130;  // the shell's code for a run stopped by Ctrl-C

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// An output directory (the experiment's, or a shard's part of it) belongs to one spec: a different spec
// there is refused, never overwritten.
void claim_output_directory(const ExperimentSpec& spec, const std::string& directory) {
  // The results files are replaced by rename, which cannot replace a directory: refused before any work.
  const ResultsPaths results = results_paths(directory);
  for (const std::string& path : {results.hdf5, results.summary_csv, results.predictions_jsonl})
    check(!fs::is_directory(fs::symlink_status(path)), path,
          ": is a directory; cannot write the results file there (move it away)");
  const fs::path stored = fs::path(directory) / "spec.yaml";
  if (fs::exists(stored)) {
    check(read_text(stored) == spec.resolved_yaml, directory,
          ": holds results of a different version of this experiment (", stored.string(),
          " differs from ", spec.file, "); set output_dir to a new folder or move the old results away");
    return;
  }
  fs::create_directories(directory);
  write_file_atomically(stored.string(), spec.resolved_yaml);
}

// For every model still to train: its optimizer steps timed here, and the training time they project.
void print_training_estimates(const ExperimentSpec& spec, const ModelProvider& provider, int64_t timed_steps,
                              int threads) {
  for (const auto& [name, model] : spec.models) {
    if (!model.train || provider.is_trained(name)) continue;
    const ThroughputEstimate estimate = measure_training_step(*model.train, spec.task, timed_steps);
    char line[256];
    std::snprintf(line, sizeof line,
                  "  %s: %.3f s/step at batch %lld (median of %lld steps timed here at batch %lld, %d threads,"
                  " scaled linearly) x %lld steps = %.2f h of training\n",
                  name.c_str(), estimate.seconds_per_step, static_cast<long long>(model.train->batch_size),
                  static_cast<long long>(estimate.timed_steps), static_cast<long long>(estimate.timed_batch), threads,
                  static_cast<long long>(model.train->total_steps()), estimate.total_hours(model.train->total_steps()));
    std::cout << line;
  }
}

void print_dry_run(const ExperimentSpec& spec, const std::vector<RunSpec>& runs, const TaskData& data,
                   const ModelProvider& provider, int64_t timed_steps, int threads) {
  std::cout << "experiment " << spec.name << " (" << spec.file << ")\n";
  std::cout << "task: " << spec.task.label() << ", " << data.evaluation.size() << " examples, metric "
            << tasks::metric_name(spec.task.metric) << "\n";
  std::cout << "models:\n";
  for (const auto& [name, model] : spec.models) std::cout << "  " << name << ": " << provider.plan(name) << "\n";
  if (timed_steps > 0) {
    std::cout << "expected training time (device " << spec.device << "):\n";
    print_training_estimates(spec, provider, timed_steps, threads);
  }
  std::cout << "runs (" << runs.size() << "):\n";
  const fs::path journals = fs::path(spec.output_dir) / "journal";
  for (const auto& run : runs) {
    const bool finished = fs::exists(journals / (run.run_id + ".jsonl"));
    std::cout << "  " << run.run_id << "  " << run.label() << "  seed=" << run.seed
              << (finished ? "  (journal exists)" : "") << "\n";
  }
  std::cout << describe_prefix_cache(spec.prefix_cache) << "\n";
  std::cout << "results: " << results_paths(spec.output_dir).hdf5 << "\n";
}

int run(const std::vector<std::string>& args) {
  ArgParser parser("run_experiment SPEC.yaml [--dry-run] [--threads N] [--shard I/N|slurm | --merge | --status |\n"
                   "                           --submit slurm [--shards N --partition P --time T --cpus-per-task C --gpus-per-task G]]",
                   "Run every decoder setting of an experiment file on its task and write the results\n"
                   "(results.h5, summary.csv, predictions.jsonl) to its output_dir. Interrupted runs\n"
                   "resume where they stopped when started again. See docs/configuration.md.");
  parser.add_switch("dry-run", "validate the spec, print the expanded grid and what would be trained or loaded");
  parser.add_option("threads", "N", "torch intra-op threads, 0 to 4 per core (overrides the spec's threads; 0 = $STEPWISE_THREADS or all cores)");
  parser.add_option("time-steps", "K",
                    "with --dry-run: time K optimizer steps (after one warm-up step) of every model still to\n"
                    "train and print the training time they project (0 = skip)",
                    "2");
  parser.add_option("shard", "I/N|slurm",
                    "run only shard I of N (from 0) of the grid, into OUTPUT_DIR/shards/I-of-N; slurm: I and N\n"
                    "from the job array's SLURM_ARRAY_TASK_* variables (docs/cluster.md)");
  parser.add_switch("merge", "combine the finished shards into OUTPUT_DIR's results files (refuses unfinished runs)");
  parser.add_switch("status", "list every run of every shard: finished, running, partial, damaged or missing");
  parser.add_option("submit", "slurm",
                    "write OUTPUT_DIR/slurm/shards.sbatch (a job array of --shard slurm tasks) and merge.sbatch (--merge\n"
                    "after the array) and submit both with sbatch; with --dry-run print them instead");
  parser.add_option("shards", "N", "with --submit: array tasks (default: one per run)");
  parser.add_option("partition", "P", "with --submit: the jobs' Slurm partition");
  parser.add_option("time", "T", "with --submit: the jobs' time limit (sbatch --time, e.g. 02:00:00)");
  parser.add_option("cpus-per-task", "C", "with --submit: CPUs of each array task (also its --threads)");
  parser.add_option("gpus-per-task", "G", "with --submit: GPUs of each array task");
  parser.add_option("train-rank", "MODEL",
                    "internal: run as one rank of MODEL's data-parallel training (a train: block with world_size\n"
                    "above 1); run_experiment starts these processes itself, with RANK and WORLD_SIZE set");
  parser.add_option("train-dir", "DIR", "internal, with --train-rank: the model's cache directory the launcher locked");
  parser.add_option("train-model", "MODEL",
                    "internal: train (or reuse) only MODEL into the model cache and exit; run_experiment starts these\n"
                    "processes itself for a spec with train_jobs above 1");
  std::vector<std::string> flags;
  std::optional<std::string> spec_file;
  for (const auto& arg : args) {
    if (!spec_file && !arg.empty() && arg[0] != '-') spec_file = arg;
    else flags.push_back(arg);
  }
  if (!parser.parse(flags)) return 0;
  check(spec_file.has_value(), "missing the experiment file (usage: run_experiment SPEC.yaml)");

  ExperimentSpec spec = load_experiment_spec(*spec_file);
  std::vector<RunSpec> runs = expand_runs(spec);
  const std::optional<int64_t> threads_flag = parser.get_int_optional("threads");
  const int threads = configure_threads(threads_flag.value_or(spec.threads), threads_flag ? "--threads" : spec.file + ": threads");
  TaskData data = load_task_data(spec.task);
  if (const std::optional<std::string> rank_model = parser.get_optional("train-rank")) {
    check(parser.given("train-dir"), "--train-rank goes with --train-dir");
    return run_training_rank(spec, data, *rank_model, parser.get("train-dir"));
  }
  check(!parser.given("train-dir"), "--train-dir goes with --train-rank");
  if (const std::optional<std::string> model = parser.get_optional("train-model")) {
    training::StopSignalGuard stop_guard;
    ModelProvider provider(spec, data);
    train_one_model(spec, provider, *model);
    return 0;
  }
  const std::optional<std::string> shard_flag = parser.get_optional("shard");
  const std::optional<std::string> submit_flag = parser.get_optional("submit");
  check(parser.get_switch("merge") + parser.get_switch("status") + shard_flag.has_value() + submit_flag.has_value() <= 1,
        "--shard, --merge, --status and --submit exclude each other");
  for (const char* option : {"shards", "partition", "time", "cpus-per-task", "gpus-per-task"})
    check(submit_flag || !parser.given(option), "--", option, " goes with --submit slurm");
  if (submit_flag) {
    check(*submit_flag == "slurm", "--submit: the only scheduler is slurm, got '", *submit_flag, "'");
    SlurmSubmission submission;
    submission.experiment_name = spec.name;
    submission.runner = fs::canonical("/proc/self/exe").string();
    submission.spec_file = fs::absolute(*spec_file).lexically_normal().string();
    submission.working_dir = fs::current_path().string();
    submission.script_dir = (fs::absolute(spec.output_dir) / "slurm").lexically_normal().string();
    submission.options.shards = parser.get_int_optional("shards").value_or(static_cast<int64_t>(runs.size()));
    submission.options.partition = parser.get_optional("partition");
    submission.options.time_limit = parser.get_optional("time");
    submission.options.cpus_per_task = parser.get_int_optional("cpus-per-task");
    submission.options.gpus_per_task = parser.get_int_optional("gpus-per-task");
    if (!parser.get_switch("dry-run")) claim_output_directory(spec, spec.output_dir);
    submit_to_slurm(submission, parser.get_switch("dry-run"));
    return 0;
  }
  if (parser.get_switch("status")) {
    std::cout << shard_status(spec, runs, data);
    return 0;
  }
  if (parser.get_switch("merge")) {
    claim_output_directory(spec, spec.output_dir);
    const MergeOutcome merged =
        merge_shards(spec, runs, data, make_results_metadata(spec.name, spec.resolved_yaml, TORCH_VERSION));
    std::cout << (merged.changed ? "merged " : "already merged, nothing changed: ") << merged.runs << " runs into "
              << merged.paths.hdf5 << ", " << merged.paths.summary_csv << ", " << merged.paths.predictions_jsonl << "\n";
    return 0;
  }
  // Where this process journals and writes results: the output directory, or its shard's part of it.
  std::string run_directory = spec.output_dir;
  if (shard_flag) {
    const ShardId shard = parse_shard(*shard_flag, slurm_environment());
    runs = runs_of_shard(runs, spec, shard);
    run_directory = shard_directory(spec.output_dir, shard);
    std::cerr << "shard " << shard.name() << ": " << runs.size() << " runs, into " << run_directory << "\n";
  }
  ModelProvider provider(spec, data);
  if (parser.get_switch("dry-run")) {
    const int64_t timed_steps = parser.get_int("time-steps");
    check(timed_steps >= 0 && timed_steps <= 1000, "--time-steps must lie in 0..1000, got ", timed_steps);
    print_dry_run(spec, runs, data, provider, timed_steps, threads);
    return 0;
  }
  // Opened before anything is written or trained, so an unusable disk path fails first.
  std::optional<ExperimentPrefixCache> prefix_cache;
  if (spec.prefix_cache) prefix_cache.emplace(*spec.prefix_cache, spec.file);
  claim_output_directory(spec, spec.output_dir);
  if (run_directory != spec.output_dir) claim_output_directory(spec, run_directory);
  std::cerr << "experiment " << spec.name << ": " << runs.size() << " runs on " << data.evaluation.size()
            << " examples of " << spec.task.label() << ", " << threads << " threads\n";

  training::StopSignalGuard stop_guard;
  if (spec.train_jobs > 1) {
    // The models the unfinished runs need (and the models those are quantized from), as the loop below
    // would train them one by one.
    std::set<std::string> needed;
    for (const RunSpec& run_spec : runs) {
      const auto journal = open_checked_journal(
          (fs::path(run_directory) / "journal" / (run_spec.run_id + ".jsonl")).string(), run_spec, data,
          spec.task.metric);
      if (journal->complete()) continue;
      for (std::string name : run_spec.decoder.model_names())
        for (; needed.insert(name).second && spec.models.at(name).from;) name = *spec.models.at(name).from;
    }
    train_models_concurrently(spec, provider, threads, needed);
  }
  const ResultsMetadata metadata = make_results_metadata(spec.name, spec.resolved_yaml, TORCH_VERSION);
  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  std::map<std::string, std::unique_ptr<TaskPrompts>> prompts;
  std::vector<RunRecord> finished;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunSpec& run_spec = runs[i];
    const std::unique_ptr<RunJournal> checked_journal = open_checked_journal(
        (fs::path(run_directory) / "journal" / (run_spec.run_id + ".jsonl")).string(), run_spec, data,
        spec.task.metric);
    RunJournal& journal = *checked_journal;
    if (!journal.complete()) {
      const std::string& model_name = run_spec.decoder.model;
      const std::shared_ptr<const Transformer> model = provider.get(model_name);
      for (const std::string& name : run_spec.decoder.model_names()) provider.get(name);  // e.g. a draft model
      if (!prompts.count(model_name)) {
        tokenizers[model_name] = provider.tokenizer(model_name);
        prompts[model_name] = std::make_unique<TaskPrompts>(spec.task, data, *tokenizers[model_name]);
      }
      std::shared_ptr<PrefixReuse> reuse;  // hashing the model's identity only when a decoder will use it
      if (prefix_cache && uses_prefix_reuse(run_spec.decoder)) reuse = prefix_cache->reuse_for(model_name, *model);
      std::unique_ptr<Decoder> decoder = make_decoder(run_spec.decoder, provider.loaded(), reuse);
      const std::string label = "[" + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + "] " +
                                run_spec.label();
      RunContext context{spec, data, *prompts[model_name]};
      if (!execute_run(run_spec, *decoder, context, journal, label)) {
        if (!finished.empty()) write_results(run_directory, finished, metadata);
        std::cerr << "interrupted: finished examples are kept in " << journal.path()
                  << "; run the same command again to resume\n";
        if (prefix_cache) std::cerr << prefix_cache->stats_line() << "\n";
        return kExitInterrupted;
      }
    }
    finished.push_back(run_record_of(run_spec, spec, journal));
    write_results(run_directory, finished, metadata);
    if (training::stop_requested()) {
      std::cerr << "interrupted after run " << run_spec.run_id << "; run the same command again to resume\n";
      if (prefix_cache) std::cerr << prefix_cache->stats_line() << "\n";
      return kExitInterrupted;
    }
  }
  const ResultsPaths paths = results_paths(run_directory);
  std::cout << format_summary_table(finished);
  if (prefix_cache) std::cout << prefix_cache->stats_line() << "\n";
  std::cout << "results: " << paths.hdf5 << "\n         " << paths.summary_csv << "\n         "
            << paths.predictions_jsonl << "\n";
  return 0;
}

}  // namespace
}  // namespace stepwise::runner

int main(int argc, char** argv) {
  stepwise::relaunch_with_quiet_thread_pools(argv);
  try {
    return stepwise::runner::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const stepwise::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    // A model whose training a signal stopped: its state is saved, and the message says to rerun.
    if (stepwise::training::stop_requested()) return stepwise::runner::kExitInterrupted;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 2;
}
