// Writes a small, made-up results directory with the real results writer, for the notebook test:
// two diffusion families (alg origin / entropy) at steps 1, 2, 4, 8, an AR run and a speculative run
// on one task. Usage: make_sample_results OUTPUT_DIR  (writes results.h5, summary.csv, predictions.jsonl).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "experiments/runner/results_writer.h"

namespace {

using stepwise::runner::ExampleRecord;
using stepwise::runner::RunRecord;

constexpr int kExamples = 16;
constexpr int kGenLength = 16;

RunRecord make_run(const std::string& run_id, const std::string& name, const std::string& type, int correct,
                   int64_t nfe, double wall_per_example, std::map<std::string, std::string> settings) {
  RunRecord run;
  run.run_id = run_id;
  run.name = name;
  run.decoder_type = type;
  run.model = "tiny";
  run.task = "sudoku4x4";
  run.metric = "sudoku_valid";
  run.settings = std::move(settings);
  for (int i = 0; i < kExamples; ++i) {
    ExampleRecord example;
    example.index = i;
    example.prompt = "12__\n__34\n" + std::to_string(i);
    example.reference = "1243\n3412\n" + std::to_string(i);
    example.correct = i < correct;
    example.prediction = example.correct ? example.reference : "1234\n1234\n" + std::to_string(i);
    example.forward_calls = nfe;
    example.generated_tokens = kGenLength;
    example.wall_s = wall_per_example;
    example.first_token_s = wall_per_example / static_cast<double>(kGenLength);
    example.ttft_s = example.first_token_s + wall_per_example * static_cast<double>(i);  // one at a time, in order
    if (type == "diffusion") {
      for (int position = 0; position < kGenLength; ++position) example.commit_step.push_back(position % nfe);
    }
    run.examples.push_back(example);
  }
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_sample_results OUTPUT_DIR\n");
    return 2;
  }
  std::vector<RunRecord> runs;
  const int origin_correct[] = {2, 6, 10, 13};
  const int entropy_correct[] = {3, 8, 12, 14};
  int step_index = 0;
  for (int steps : {1, 2, 4, 8}) {
    const std::string s = std::to_string(steps);
    const double wall = 0.004 + 0.01 * steps;
    runs.push_back(make_run("diff-origin-" + s, "diffusion origin steps=" + s, "diffusion", origin_correct[step_index],
                            steps, wall, {{"steps", s}, {"alg", "origin"}, {"schedule", "dream"}}));
    runs.push_back(make_run("diff-entropy-" + s, "diffusion entropy steps=" + s, "diffusion",
                            entropy_correct[step_index], steps, wall * 1.1,
                            {{"steps", s}, {"alg", "entropy"}, {"schedule", "dream"}}));
    ++step_index;
  }
  runs.push_back(make_run("ar-greedy", "ar greedy", "ar", 15, kGenLength + 1, 0.2, {{"temperature", "0"}}));
  runs.push_back(make_run("spec-k4", "speculative k=4", "speculative", 15, 7, 0.12,
                          {{"temperature", "0"}, {"draft_length", "4"}}));
  try {
    const auto metadata = stepwise::runner::make_results_metadata(
        "sample", "name: sample\ntask: {kind: sudoku4x4}\n", "sample (no LibTorch)");
    const auto paths = stepwise::runner::write_results(argv[1], runs, metadata);
    std::printf("%s\n", paths.hdf5.c_str());
  } catch (const stepwise::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 2;
  }
  return 0;
}
