// Reading the shards' journals for --merge and --status.
#include "experiments/runner/shard_merge.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/runner/run_executor.h"
#include "experiments/runner/run_journal.h"
#include "experiments/runner/shard_plan.h"

namespace stepwise::runner {
namespace {

namespace fs = std::filesystem;

constexpr char kMergeRecord[] = "merged.txt";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct ShardFolder {
  ShardId shard;
  fs::path directory;
};

// Every shard folder under <output_dir>/shards, by shard count then index. A folder whose spec.yaml is
// not this spec's is an error; other entries are ignored (with a note on stderr).
std::vector<ShardFolder> shard_folders(const ExperimentSpec& spec) {
  std::vector<ShardFolder> folders;
  const fs::path root = shards_directory(spec.output_dir);
  std::error_code error;
  if (!fs::is_directory(root, error)) return folders;
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    const std::optional<ShardId> shard = shard_of_directory_name(name);
    if (!shard || !entry.is_directory()) {
      std::cerr << "note: " << entry.path().string() << ": not a shard folder (I-of-N), ignored\n";
      continue;
    }
    const fs::path stored = entry.path() / "spec.yaml";
    check(fs::exists(stored), entry.path().string(), ": a shard folder without spec.yaml (not written by run_experiment "
          "--shard, or its shard is just starting); move it away or start the shard again");
    check(read_text(stored) == spec.resolved_yaml, entry.path().string(), ": a shard of a different spec (",
          stored.string(), " differs from ", spec.file, "); move it away or merge it with its own spec");
    folders.push_back({*shard, entry.path()});
  }
  std::sort(folders.begin(), folders.end(), [](const ShardFolder& a, const ShardFolder& b) {
    return a.shard.count != b.shard.count ? a.shard.count < b.shard.count : a.shard.index < b.shard.index;
  });
  return folders;
}

enum class RunState { kFinished, kRunning, kPartial, kDamaged, kMissing };

struct ProbedRun {
  RunState state = RunState::kMissing;
  std::string detail;                  // examples done, or why the journal is not trusted
  std::unique_ptr<RunJournal> journal;  // open (and locked) when finished
};

// True when another process holds the journal's lock (a live shard writing it).
bool locked_by_another_process(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

ProbedRun probe_run(const fs::path& folder, const RunSpec& run, const ExperimentSpec& spec, const TaskData& data) {
  ProbedRun probed;
  const fs::path path = folder / "journal" / (run.run_id + ".jsonl");
  if (!fs::exists(path)) return probed;
  if (locked_by_another_process(path)) {
    probed.state = RunState::kRunning;
    return probed;
  }
  try {
    probed.journal = std::make_unique<RunJournal>(path.string(), run.run_id);
  } catch (const Error& e) {
    // Locked between the probe and the open: a shard just started it.
    probed.state = locked_by_another_process(path) ? RunState::kRunning : RunState::kDamaged;
    probed.detail = e.what();
    return probed;
  }
  const std::string problem = journal_problem(*probed.journal, data, spec.task.metric);
  const std::string done = std::to_string(probed.journal->examples().size()) + "/" +
                           std::to_string(data.evaluation.size()) + " examples";
  if (!problem.empty()) {
    probed.state = RunState::kDamaged;
    probed.detail = problem + " (the shard sets it aside and redoes the run when started again)";
  } else if (probed.journal->complete()) {
    probed.state = RunState::kFinished;
    probed.detail = done;
    return probed;
  } else {
    probed.state = RunState::kPartial;
    probed.detail = done;
  }
  probed.journal.reset();
  return probed;
}

const char* state_name(RunState state) {
  switch (state) {
    case RunState::kFinished: return "finished";
    case RunState::kRunning: return "running";
    case RunState::kPartial: return "partial";
    case RunState::kDamaged: return "damaged";
    case RunState::kMissing: return "missing";
  }
  return "?";
}

std::string describe(const ProbedRun& probed) {
  std::string text = state_name(probed.state);
  if (!probed.detail.empty()) text += " (" + probed.detail + ")";
  return text;
}

// For each run (parallel to `runs`), the folders whose shard owns it under the plan of its shard count.
std::vector<std::vector<size_t>> owners(const std::vector<ShardFolder>& folders, const std::vector<RunSpec>& runs,
                                        const ExperimentSpec& spec) {
  std::vector<std::vector<size_t>> owned(runs.size());
  std::map<int64_t, std::vector<int64_t>> plans;  // shard count -> shard of every run
  for (size_t f = 0; f < folders.size(); ++f) {
    const int64_t count = folders[f].shard.count;
    if (!plans.count(count)) plans[count] = assign_shards(runs, spec, count);
    for (size_t r = 0; r < runs.size(); ++r)
      if (plans[count][r] == folders[f].shard.index) owned[r].push_back(f);
  }
  return owned;
}

}  // namespace

MergeOutcome merge_shards(const ExperimentSpec& spec, const std::vector<RunSpec>& runs, const TaskData& data,
                          const ResultsMetadata& metadata) {
  const std::vector<ShardFolder> folders = shard_folders(spec);
  check(!folders.empty(), spec.output_dir, ": no shard folders in ", shards_directory(spec.output_dir),
        " (run `run_experiment ", spec.file, " --shard I/N` first)");
  const std::vector<std::vector<size_t>> owned = owners(folders, runs, spec);
  const int64_t count = folders.back().shard.count;  // runs no folder owns are named with this plan's shard
  const std::vector<int64_t> plan = assign_shards(runs, spec, count);
  std::vector<ProbedRun> finished(runs.size());
  std::vector<std::string> unfinished;
  std::string journals_digest;
  for (size_t r = 0; r < runs.size(); ++r) {
    // The owning shard's journal first, then any other folder's (a run finished under another shard count).
    std::vector<size_t> order = owned[r];
    for (size_t f = 0; f < folders.size(); ++f)
      if (std::find(order.begin(), order.end(), f) == order.end()) order.push_back(f);
    std::string states;
    for (const size_t f : order) {
      ProbedRun probed = probe_run(folders[f].directory, runs[r], spec, data);
      if (probed.state == RunState::kFinished) {
        finished[r] = std::move(probed);
        journals_digest += runs[r].run_id + " " + stable_hash(read_text(finished[r].journal->path())) + "\n";
        break;
      }
      const bool is_owner = std::find(owned[r].begin(), owned[r].end(), f) != owned[r].end();
      if (probed.state != RunState::kMissing || is_owner)
        states += std::string(states.empty() ? "" : "; ") + "shard " + folders[f].shard.name() + ": " + describe(probed);
    }
    if (finished[r].state != RunState::kFinished)
      unfinished.push_back(runs[r].run_id + " " + runs[r].label() + " (" +
                           (states.empty() ? "shard " + ShardId{plan[r], count}.name() + " has not started" : states) + ")");
  }
  if (!unfinished.empty()) {
    std::string list;
    for (const std::string& line : unfinished) list += "\n  " + line;
    fail(spec.file, ": cannot merge, ", unfinished.size(), " of ", runs.size(), " runs are not finished in any shard of ",
         shards_directory(spec.output_dir), ":", list);
  }
  MergeOutcome outcome;
  outcome.paths = results_paths(spec.output_dir);
  outcome.runs = runs.size();
  const std::string record = "runs " + std::to_string(runs.size()) + "\n" + journals_digest;
  const fs::path record_path = fs::path(spec.output_dir) / kMergeRecord;
  const bool up_to_date = fs::exists(record_path) && read_text(record_path) == record &&
                          fs::exists(outcome.paths.hdf5) && fs::exists(outcome.paths.summary_csv) &&
                          fs::exists(outcome.paths.predictions_jsonl);
  if (up_to_date) return outcome;
  std::vector<RunRecord> records;
  records.reserve(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) records.push_back(run_record_of(runs[r], spec, *finished[r].journal));
  write_results(spec.output_dir, records, metadata);
  write_file_atomically(record_path.string(), record);
  outcome.changed = true;
  return outcome;
}

std::string shard_status(const ExperimentSpec& spec, const std::vector<RunSpec>& runs, const TaskData& data) {
  const std::vector<ShardFolder> folders = shard_folders(spec);
  std::ostringstream out;
  out << "experiment " << spec.name << " (" << spec.file << "): " << runs.size() << " runs\n";
  if (folders.empty()) {
    out << "no shard folders in " << shards_directory(spec.output_dir) << " (start them with --shard I/N)\n";
    return out.str();
  }
  const std::vector<std::vector<size_t>> owned = owners(folders, runs, spec);
  for (size_t f = 0; f < folders.size(); ++f) {
    std::map<RunState, int64_t> counts;
    std::ostringstream lines;
    for (size_t r = 0; r < runs.size(); ++r) {
      if (std::find(owned[r].begin(), owned[r].end(), f) == owned[r].end()) continue;
      const ProbedRun probed = probe_run(folders[f].directory, runs[r], spec, data);
      ++counts[probed.state];
      lines << "  " << runs[r].run_id << "  " << describe(probed) << "  " << runs[r].label() << "\n";
    }
    out << "shard " << folders[f].shard.name() << " (" << folders[f].directory.string() << "):";
    for (const RunState state : {RunState::kFinished, RunState::kRunning, RunState::kPartial, RunState::kDamaged,
                                 RunState::kMissing})
      out << " " << counts[state] << " " << state_name(state);
    out << "\n" << lines.str();
  }
  // Runs whose shard has no folder yet (under the largest shard count present), unless another folder finished them.
  const int64_t count = folders.back().shard.count;
  const std::vector<int64_t> plan = assign_shards(runs, spec, count);
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!owned[r].empty()) continue;
    bool elsewhere = false;
    for (size_t f = 0; f < folders.size() && !elsewhere; ++f)
      elsewhere = probe_run(folders[f].directory, runs[r], spec, data).state == RunState::kFinished;
    if (!elsewhere)
      out << "  " << runs[r].run_id << "  missing (shard " << ShardId{plan[r], count}.name() << " has not started)  "
          << runs[r].label() << "\n";
  }
  return out.str();
}

}  // namespace stepwise::runner
