// Reads /runs/<run_id> groups and the root metadata of an HDF5 results file.
#include "experiments/runner/results_reader.h"

#include <filesystem>

#include "core/error.h"
#include "experiments/runner/hdf5_io.h"
#include "experiments/runner/results_schema.h"

namespace stepwise::runner {
namespace {

template <typename T>
void check_length(const h5::Location& run, const char* name, const std::vector<T>& values, size_t expected) {
  check(values.size() == expected, run.file, ": ", run.child(name), ": has ", values.size(), " entries, expected ",
        expected, " (one per example)");
}

std::vector<std::vector<int64_t>> read_commit_steps(const h5::Location& run, size_t count) {
  namespace s = schema;
  std::vector<std::vector<int64_t>> steps(count);
  if (!h5::has_member(run, s::kCommitStep)) return steps;
  const std::vector<int64_t> flat = h5::read_int_dataset(run, s::kCommitStep);
  const std::vector<int64_t> offsets = h5::read_int_dataset(run, s::kCommitStepOffsets);
  check_length(run, s::kCommitStepOffsets, offsets, count + 1);
  check(offsets.front() == 0 && offsets.back() == static_cast<int64_t>(flat.size()), run.file, ": ",
        run.child(s::kCommitStepOffsets), ": must start at 0 and end at the length of ", s::kCommitStep);
  for (size_t i = 0; i < count; ++i) {
    check(offsets[i] <= offsets[i + 1], run.file, ": ", run.child(s::kCommitStepOffsets), ": offsets decrease at ", i);
    steps[i].assign(flat.begin() + offsets[i], flat.begin() + offsets[i + 1]);
  }
  return steps;
}

RunRecord read_run(const h5::Location& runs, const std::string& run_id, int64_t schema_version) {
  namespace s = schema;
  h5::Handle group = h5::open_group(runs, run_id);
  const h5::Location at{runs.file, group.get(), runs.child(run_id)};
  RunRecord run;
  run.run_id = h5::read_string_attribute(at, s::kRunId);
  check(run.run_id == run_id, at.file, ": ", at.object, ": attribute run_id is '", run.run_id,
        "', not the group's name");
  run.name = h5::read_string_attribute(at, s::kName);
  run.decoder_type = h5::read_string_attribute(at, s::kDecoderType);
  run.model = h5::read_string_attribute(at, s::kModel);
  run.task = h5::read_string_attribute(at, s::kTask);
  run.metric = h5::read_string_attribute(at, s::kMetric);
  {
    h5::Handle settings = h5::open_group(at, s::kSettingsGroup);
    const h5::Location settings_at{at.file, settings.get(), at.child(s::kSettingsGroup)};
    for (const auto& key : h5::attribute_names(settings_at)) {
      run.settings[key] = h5::read_string_attribute(settings_at, key);
    }
  }

  const auto index = h5::read_int_dataset(at, s::kIndex);
  const size_t count = index.size();
  const int64_t declared = h5::read_int_attribute(at, s::kExampleCount);
  check(declared == static_cast<int64_t>(count), at.file, ": ", at.object, ": attribute n is ", declared, " but ",
        s::kIndex, " has ", count, " entries");
  const auto correct = h5::read_uint8_dataset(at, s::kCorrect);
  const auto forward_calls = h5::read_int_dataset(at, s::kForwardCalls);
  const auto generated_tokens = h5::read_int_dataset(at, s::kGeneratedTokens);
  const auto wall_s = h5::read_double_dataset(at, s::kExampleWall);
  const auto first_token_s = h5::read_double_dataset(at, s::kFirstToken);
  // Files of schema version 1 have no ttft_s: zeros.
  const auto ttft_s = schema_version >= 2 ? h5::read_double_dataset(at, s::kTtft) : std::vector<double>(count, 0.0);
  const auto prediction = h5::read_string_dataset(at, s::kPrediction);
  const auto reference = h5::read_string_dataset(at, s::kReference);
  const auto prompt = h5::read_string_dataset(at, s::kPrompt);
  check_length(at, s::kCorrect, correct, count);
  check_length(at, s::kForwardCalls, forward_calls, count);
  check_length(at, s::kGeneratedTokens, generated_tokens, count);
  check_length(at, s::kExampleWall, wall_s, count);
  check_length(at, s::kFirstToken, first_token_s, count);
  check_length(at, s::kTtft, ttft_s, count);
  check_length(at, s::kPrediction, prediction, count);
  check_length(at, s::kReference, reference, count);
  check_length(at, s::kPrompt, prompt, count);
  auto commit_steps = read_commit_steps(at, count);

  run.examples.resize(count);
  for (size_t i = 0; i < count; ++i) {
    ExampleRecord& example = run.examples[i];
    example.index = index[i];
    example.prompt = prompt[i];
    example.reference = reference[i];
    example.prediction = prediction[i];
    example.correct = correct[i] != 0;
    example.forward_calls = forward_calls[i];
    example.generated_tokens = generated_tokens[i];
    example.wall_s = wall_s[i];
    example.first_token_s = first_token_s[i];
    example.ttft_s = ttft_s[i];
    example.commit_step = std::move(commit_steps[i]);
  }
  return run;
}

}  // namespace

ResultsFile read_results_hdf5(const std::string& path) {
  namespace s = schema;
  std::error_code error;
  check(std::filesystem::is_regular_file(path, error), path, ": results file not found");
  h5::QuietErrors quiet;
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  check(is_hdf5 > 0, path, ": not an HDF5 file (damaged, truncated or another format)");
  h5::Handle file = h5::open_file_read_only(path);
  const h5::Location root{path, file.get(), "/"};

  ResultsFile results;
  check(h5::has_attribute(root, s::kSchemaVersion), path,
        ": not a stepwise results file (the root group has no schema_version attribute)");
  results.schema_version = h5::read_int_attribute(root, s::kSchemaVersion);
  check(results.schema_version >= s::kOldestReadableSchemaVersion && results.schema_version <= s::kResultsSchemaVersion,
        path, ": results schema_version ", results.schema_version,
        " is not supported; this build reads schema_version ", s::kOldestReadableSchemaVersion, " to ",
        s::kResultsSchemaVersion, " (see docs/results_format.md)");
  for (const auto& name : h5::attribute_names(root)) {
    if (name != s::kSchemaVersion && h5::attribute_is_string(root, name)) {
      results.metadata[name] = h5::read_string_attribute(root, name);
    }
  }

  h5::Handle runs = h5::open_group(root, s::kRunsGroup);
  const h5::Location runs_at{path, runs.get(), root.child(s::kRunsGroup)};
  for (const auto& run_id : h5::member_names_in_creation_order(runs_at)) {
    results.runs.push_back(read_run(runs_at, run_id, results.schema_version));
  }
  return results;
}

}  // namespace stepwise::runner
