// The HDF5 results file, written into an AtomicFile's temporary path and renamed on commit.
#include "experiments/runner/results_writer.h"

#include <filesystem>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/runner/hdf5_io.h"
#include "experiments/runner/results_schema.h"
#include "experiments/runner/results_text.h"

namespace stepwise::runner {
namespace {

// Columns of /summary, one entry per run added so far.
struct SummaryColumns {
  std::vector<std::string> run_id, name, decoder_type, model, task, metric;
  std::vector<int64_t> count;
  std::vector<double> accuracy, mean_nfe, tokens_per_s, wall_s, ttft_mean_s, ttft_p90_s;
  std::map<std::string, std::vector<std::string>> settings;  // "" where a run lacks the key

  void add(const RunRecord& run) {
    const size_t row = run_id.size();
    run_id.push_back(run.run_id);
    name.push_back(run.name);
    decoder_type.push_back(run.decoder_type);
    model.push_back(run.model);
    task.push_back(run.task);
    metric.push_back(run.metric);
    count.push_back(static_cast<int64_t>(run.examples.size()));
    accuracy.push_back(run.accuracy());
    mean_nfe.push_back(run.mean_forward_calls());
    tokens_per_s.push_back(run.tokens_per_second());
    wall_s.push_back(run.total_wall_s());
    const LatencySummary ttft = run.ttft_summary();
    ttft_mean_s.push_back(ttft.mean_s);
    ttft_p90_s.push_back(ttft.p90_s);
    for (const auto& [key, value] : run.settings) {
      auto& column = settings[key];
      column.resize(row, "");
      column.push_back(value);
    }
    for (auto& [key, column] : settings) column.resize(row + 1, "");
  }
};

void write_examples(const h5::Location& group, const std::vector<ExampleRecord>& examples) {
  namespace s = schema;
  std::vector<int64_t> index, forward_calls, generated_tokens, commit_step, offsets{0};
  std::vector<uint8_t> correct;
  std::vector<double> wall_s, first_token_s, ttft_s;
  std::vector<std::string> prediction, reference, prompt;
  bool has_traces = false;
  for (const auto& example : examples) {
    index.push_back(example.index);
    correct.push_back(example.correct ? 1 : 0);
    forward_calls.push_back(example.forward_calls);
    generated_tokens.push_back(example.generated_tokens);
    wall_s.push_back(example.wall_s);
    first_token_s.push_back(example.first_token_s);
    ttft_s.push_back(example.ttft_s);
    prediction.push_back(example.prediction);
    reference.push_back(example.reference);
    prompt.push_back(example.prompt);
    commit_step.insert(commit_step.end(), example.commit_step.begin(), example.commit_step.end());
    offsets.push_back(static_cast<int64_t>(commit_step.size()));
    has_traces = has_traces || !example.commit_step.empty();
  }
  h5::write_dataset(group, s::kIndex, index);
  h5::write_dataset(group, s::kCorrect, correct);
  h5::write_dataset(group, s::kForwardCalls, forward_calls);
  h5::write_dataset(group, s::kGeneratedTokens, generated_tokens);
  h5::write_dataset(group, s::kExampleWall, wall_s);
  h5::write_dataset(group, s::kFirstToken, first_token_s);
  h5::write_dataset(group, s::kTtft, ttft_s);
  h5::write_dataset(group, s::kPrediction, prediction);
  h5::write_dataset(group, s::kReference, reference);
  h5::write_dataset(group, s::kPrompt, prompt);
  if (has_traces) {
    h5::write_dataset(group, s::kCommitStep, commit_step);
    h5::write_dataset(group, s::kCommitStepOffsets, offsets);
  }
}

void write_summary(const h5::Location& root, const SummaryColumns& columns) {
  namespace s = schema;
  h5::Handle summary = h5::create_group(root, s::kSummaryGroup);
  const h5::Location at{root.file, summary.get(), root.child(s::kSummaryGroup)};
  h5::write_dataset(at, s::kRunId, columns.run_id);
  h5::write_dataset(at, s::kName, columns.name);
  h5::write_dataset(at, s::kDecoderType, columns.decoder_type);
  h5::write_dataset(at, s::kModel, columns.model);
  h5::write_dataset(at, s::kTask, columns.task);
  h5::write_dataset(at, s::kMetric, columns.metric);
  h5::write_dataset(at, s::kExampleCount, columns.count);
  h5::write_dataset(at, s::kAccuracy, columns.accuracy);
  h5::write_dataset(at, s::kMeanNfe, columns.mean_nfe);
  h5::write_dataset(at, s::kTokensPerSecond, columns.tokens_per_s);
  h5::write_dataset(at, s::kWallSeconds, columns.wall_s);
  h5::write_dataset(at, s::kTtftMean, columns.ttft_mean_s);
  h5::write_dataset(at, s::kTtftP90, columns.ttft_p90_s);
  h5::Handle settings = h5::create_group(at, s::kSettingsGroup);
  const h5::Location settings_at{root.file, settings.get(), at.child(s::kSettingsGroup)};
  for (const auto& [key, column] : columns.settings) h5::write_dataset(settings_at, key, column);
}

}  // namespace

struct ResultsWriter::State {
  std::string path;
  AtomicFile target;  // declared before the HDF5 handles: they close first, then the temporary goes
  h5::Handle file;
  h5::Handle runs;
  std::set<std::string> run_ids;
  SummaryColumns summary;
  bool failed = false;
  bool committed = false;

  explicit State(const std::string& target_path) : path(target_path), target(target_path) {}
  h5::Location root() const { return {path, file.get(), "/"}; }
  h5::Location runs_group() const { return {path, runs.get(), "/" + std::string(schema::kRunsGroup)}; }
};

ResultsWriter::ResultsWriter(const std::string& path, const ResultsMetadata& metadata) {
  check(metadata.count(schema::kSchemaVersion) == 0, path, ": metadata may not use the reserved key '",
        schema::kSchemaVersion, "'");
  state_ = std::make_unique<State>(path);
  h5::QuietErrors quiet;
  state_->file = h5::create_file(state_->target.temporary_path(), path);
  const h5::Location root = state_->root();
  h5::write_attribute(root, schema::kSchemaVersion, schema::kResultsSchemaVersion);
  for (const auto& [key, value] : metadata) h5::write_attribute(root, key, value);
  state_->runs = h5::create_group(root, schema::kRunsGroup, /*track_order=*/true);
}

ResultsWriter::~ResultsWriter() = default;

void ResultsWriter::add_run(const RunRecord& run) {
  namespace s = schema;
  State& state = *state_;
  check(!state.committed, state.path, ": add_run after commit");
  check(!state.failed, state.path, ": an earlier run failed to write; this file cannot be completed");
  check(!run.run_id.empty() && run.run_id != "." && run.run_id.find('/') == std::string::npos, state.path,
        ": run_id '", run.run_id, "' of run '", run.name, "' is not usable as a group name (empty, '.' or has '/')");
  check(state.run_ids.insert(run.run_id).second, state.path, ": run_id '", run.run_id, "' appears twice (run '",
        run.name, "')");
  state.failed = true;  // until this run is completely written
  h5::QuietErrors quiet;
  const h5::Location runs = state.runs_group();
  h5::Handle group = h5::create_group(runs, run.run_id);
  const h5::Location at{state.path, group.get(), runs.child(run.run_id)};
  h5::write_attribute(at, s::kRunId, run.run_id);
  h5::write_attribute(at, s::kName, run.name);
  h5::write_attribute(at, s::kDecoderType, run.decoder_type);
  h5::write_attribute(at, s::kModel, run.model);
  h5::write_attribute(at, s::kTask, run.task);
  h5::write_attribute(at, s::kMetric, run.metric);
  h5::write_attribute(at, s::kExampleCount, static_cast<int64_t>(run.examples.size()));
  h5::write_attribute(at, s::kAccuracy, run.accuracy());
  h5::write_attribute(at, s::kMeanNfe, run.mean_forward_calls());
  h5::write_attribute(at, s::kTokensPerSecond, run.tokens_per_second());
  h5::write_attribute(at, s::kWallSeconds, run.total_wall_s());
  const LatencySummary ttft = run.ttft_summary();
  h5::write_attribute(at, s::kTtftMean, ttft.mean_s);
  h5::write_attribute(at, s::kTtftP90, ttft.p90_s);
  h5::Handle settings = h5::create_group(at, s::kSettingsGroup);
  const h5::Location settings_at{state.path, settings.get(), at.child(s::kSettingsGroup)};
  for (const auto& [key, value] : run.settings) h5::write_attribute(settings_at, key, value);
  write_examples(at, run.examples);
  state.summary.add(run);
  state.failed = false;
}

void ResultsWriter::commit() {
  State& state = *state_;
  check(!state.committed, state.path, ": commit called twice");
  check(!state.failed, state.path, ": an earlier run failed to write; the previous file is left as it was");
  {
    h5::QuietErrors quiet;
    state.failed = true;
    write_summary(state.root(), state.summary);
    state.runs.reset();
    const hid_t file = state.file.get();
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) h5::fail_hdf5(state.path, "/", "cannot flush the file");
    state.file.reset();
  }
  state.target.commit();
  state.failed = false;
  state.committed = true;
}

void write_results_hdf5(const std::string& path, const std::vector<RunRecord>& runs,
                        const ResultsMetadata& metadata) {
  ResultsWriter writer(path, metadata);
  for (const auto& run : runs) writer.add_run(run);
  writer.commit();
}

ResultsPaths results_paths(const std::string& directory) {
  const std::filesystem::path base(directory);
  return {(base / "results.h5").string(), (base / "summary.csv").string(), (base / "predictions.jsonl").string()};
}

ResultsPaths write_results(const std::string& directory, const std::vector<RunRecord>& runs,
                           const ResultsMetadata& metadata) {
  const ResultsPaths paths = results_paths(directory);
  write_results_hdf5(paths.hdf5, runs, metadata);
  write_summary_csv(paths.summary_csv, runs);
  write_predictions_jsonl(paths.predictions_jsonl, runs);
  return paths;
}

}  // namespace stepwise::runner
