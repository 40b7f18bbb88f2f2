// Compares two results.h5 files field by field, for the sharding test: every root attribute but
// created_utc (the time of writing), every run in order (id, labels, settings) and every example's
// index, prompt, reference, prediction, correct, forward_calls, generated_tokens and commit_step. The
// timings (wall_s, first_token_s, ttft_s, and what is derived from them) are measured by the process
// that decoded the example, so they are not compared. Prints each difference; exit 0 when none, 1 otherwise.
// Usage: compare_results A.h5 B.h5
#include <cstdio>
#include <iostream>
#include <string>

#include "core/error.h"
#include "experiments/runner/results_metadata.h"
#include "experiments/runner/results_reader.h"

namespace {

using stepwise::runner::ExampleRecord;
using stepwise::runner::ResultsFile;
using stepwise::runner::RunRecord;

int differences = 0;

template <typename T>
void expect_same(const std::string& where, const T& a, const T& b) {
  if (a == b) return;
  ++differences;
  std::cout << "differs: " << where << "\n";
}

void compare_examples(const std::string& where, const ExampleRecord& a, const ExampleRecord& b) {
  expect_same(where + ".index", a.index, b.index);
  expect_same(where + ".prompt", a.prompt, b.prompt);
  expect_same(where + ".reference", a.reference, b.reference);
  expect_same(where + ".prediction", a.prediction, b.prediction);
  expect_same(where + ".correct", a.correct, b.correct);
  expect_same(where + ".forward_calls", a.forward_calls, b.forward_calls);
  expect_same(where + ".generated_tokens", a.generated_tokens, b.generated_tokens);
  expect_same(where + ".commit_step", a.commit_step, b.commit_step);
}

void compare_runs(const std::string& where, const RunRecord& a, const RunRecord& b) {
  expect_same(where + ".run_id", a.run_id, b.run_id);
  expect_same(where + ".name", a.name, b.name);
  expect_same(where + ".decoder_type", a.decoder_type, b.decoder_type);
  expect_same(where + ".model", a.model, b.model);
  expect_same(where + ".task", a.task, b.task);
  expect_same(where + ".metric", a.metric, b.metric);
  expect_same(where + ".settings", a.settings, b.settings);
  expect_same(where + ".n", a.examples.size(), b.examples.size());
  for (size_t i = 0; i < a.examples.size() && i < b.examples.size(); ++i)
    compare_examples(where + ".examples[" + std::to_string(i) + "]", a.examples[i], b.examples[i]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: compare_results A.h5 B.h5\n";
    return 2;
  }
  try {
    ResultsFile a = stepwise::runner::read_results_hdf5(argv[1]);
    ResultsFile b = stepwise::runner::read_results_hdf5(argv[2]);
    expect_same("schema_version", a.schema_version, b.schema_version);
    a.metadata.erase(stepwise::runner::kMetaCreatedUtc);
    b.metadata.erase(stepwise::runner::kMetaCreatedUtc);
    for (const auto& [key, value] : a.metadata)
      expect_same("metadata " + key, value, b.metadata.count(key) ? b.metadata.at(key) : std::string("(absent)"));
    expect_same("metadata keys", a.metadata.size(), b.metadata.size());
    expect_same("runs", a.runs.size(), b.runs.size());
    for (size_t r = 0; r < a.runs.size() && r < b.runs.size(); ++r)
      compare_runs("runs[" + std::to_string(r) + "]", a.runs[r], b.runs[r]);
    std::cout << (differences == 0 ? "same" : std::to_string(differences) + " differences") << " (" << a.runs.size()
              << " runs)\n";
    return differences == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
