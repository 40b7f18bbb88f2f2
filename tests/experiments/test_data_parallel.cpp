// Data-parallel training end to end: `stepwise train --nproc 2` (two processes over c10d Gloo on this
// machine, each on half of every batch, gradients summed) ends with the weights of one process trained
// on the same global batch, within a float32 bound, and starts from the same loss; and an experiment
// whose train: block has world_size: 2 trains (by two rank processes of run_experiment) the model and
// writes the results a world_size: 1 experiment writes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/transformer.h"
#include "tests/support/numeric_bounds.h"

namespace {

namespace fs = std::filesystem;

// Train flags shared by both runs: float32, no final evaluation, no validation decoding.
std::string train_command(const fs::path& out, const std::string& extra) {
  return std::string(STEPWISE_BINARY) +
         " train --task sudoku --objective diffusion --preset small --steps 4 --batch-size 16 --lr 1e-3 --train-size 64"
         " --val-size 8 --validation-subset 4 --teacher-forced --no-eval --quiet --threads 1 --precision float32 --out " +
         out.string() + " " + extra + " > " + out.string() + ".log 2>&1";
}

// The bound on the weights after `steps` AdamW steps of two runs that differ only in summation order.
// Each rank sums its half of the weight gradients' reductions over batch rows and positions (at most
// `rows` x 64 positions terms) and the halves are added, where one process sums all rows at once; per
// element the gradients then differ by at most float32_bound(|g|, rows * 64) (numeric_bounds.h). AdamW's
// step lr * m / (sqrt(v) + eps) is invariant to the scale of g and moves by at most twice g's relative
// change (m is linear in g, sqrt(v) too), so each step's update, of magnitude <= lr here (bias-corrected
// Adam directions stay <= 1 over these few steps), differs by at most 2 * float32_bound(lr, rows * 64);
// over the steps the differences add. That reasoning holds where a gradient element is not itself
// the small remainder of a cancelling sum: there the summation error (bounded by the sum of the terms'
// magnitudes, not by |g|) can be large relative to g, and Adam's normalised step can then differ by up
// to 2 lr per step on any CPU's rounding. Such elements are rare, so the check is two-tier: every
// element within 2 · lr · steps, and all but a small fraction of each tensor (kAmplifiedFraction)
// within the bound. A rank that trained on its half alone (no all-reduce) moves most weights by about
// lr per step: three orders of magnitude above the bound, far beyond the fraction.
constexpr double kAmplifiedFraction = 1e-3;
double weight_bound(int64_t steps, double learning_rate, int64_t rows) {
  return 2.0 * stepwise::testing::float32_bound(static_cast<double>(steps) * learning_rate, rows * 64);
}

// Every weight of `a` within `step_bound` of `b`'s (same names in the same order) and all but
// kAmplifiedFraction of each tensor's elements within `bound`; returns the largest difference.
double expect_weights_within(const fs::path& a_dir, const fs::path& b_dir, double bound, double step_bound) {
  const auto one = stepwise::load_checkpoint(a_dir.string());
  const auto two = stepwise::load_checkpoint(b_dir.string());
  const auto a = one->named_parameters();
  const auto b = two->named_parameters();
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    const torch::Tensor differences = (a[i].second - b[i].second).abs();
    const double difference = differences.max().item<double>();
    worst = std::max(worst, difference);
    EXPECT_LE(difference, step_bound) << a[i].first;
    const double beyond = (differences > bound).sum().item<double>();
    EXPECT_LE(beyond, kAmplifiedFraction * static_cast<double>(differences.numel())) << a[i].first << ": " << beyond
                                                                                  << " elements beyond " << bound;
  }
  if (std::getenv("STEPWISE_REPORT_BOUNDS")) std::cout << "weights: " << worst << " <= " << bound << "\n";
  return worst;
}

TEST(DataParallel, TwoRanksEqualOneRankWithTheGlobalBatch) {
  const fs::path work = fs::temp_directory_path() / ("stepwise_dp_" + std::to_string(::getpid()));
  fs::create_directories(work);
  ASSERT_EQ(std::system(train_command(work / "one", "").c_str()), 0) << "see " << work / "one.log";
  ASSERT_EQ(std::system(train_command(work / "two", "--nproc 2").c_str()), 0) << "see " << work / "two.log";
  // Bound: weight_bound's derivation, 16 rows per batch, lr 1e-3, 4 steps.
  expect_weights_within(work / "one", work / "two", weight_bound(4, 1e-3, 16), 2.0 * 4 * 1e-3);
  // The first step's loss is a forward pass on the same weights: the sum of the ranks' partial losses.
  auto first_loss = [](const fs::path& out) {
    std::ifstream in(out / "training_summary.json");
    return nlohmann::json::parse(in)["training"]["first_loss"].get<double>();
  };
  const double loss_one = first_loss(work / "one");
  EXPECT_NEAR(first_loss(work / "two"), loss_one, stepwise::testing::float32_bound(loss_one, 16 * 64));
  fs::remove_all(work);
}

// An experiment spec whose one model is trained by `world_size` ranks (float32, 4 steps of 16 rows, lr 1e-3)
// and decoded greedily on 12 Sudoku puzzles; output and cache relative to the directory it runs in, so
// the two specs differ in world_size only.
std::string experiment_yaml(int world_size) {
  return "name: dp\noutput_dir: results\ncache_dir: models\nthreads: 2\nbatch_size: 12\n"
         "task: {type: sudoku, size: 4, givens: 10, num_examples: 12, seed: 7}\n"
         "models:\n  ar:\n    train:\n      objective: ar\n      preset: custom\n      layers: 1\n      hidden: 32\n"
         "      heads: 2\n      intermediate: 64\n      steps: 4\n      batch_size: 16\n      learning_rate: 0.001\n"
         "      train_examples: 64\n      precision: float32\n      validation_decoder: teacher-forced\n"
         "      validation_examples: 4\n      checkpoint_every: 2\n      world_size: " + std::to_string(world_size) +
         "\ndecoders:\n  - {name: greedy, type: ar, model: ar}\n";
}

// The one entry of DIR (a model's cache directory under cache_dir).
fs::path only_entry(const fs::path& directory) {
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(directory)) entries.push_back(entry.path());
  EXPECT_EQ(entries.size(), 1u) << directory;
  return entries.empty() ? directory : entries.front();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(DataParallel, ExperimentWithWorldSizeTwoEqualsWorldSizeOne) {
  const fs::path work = fs::temp_directory_path() / ("stepwise_dp_experiment_" + std::to_string(::getpid()));
  fs::remove_all(work);
  for (int world_size : {1, 2}) {
    const fs::path root = work / ("world" + std::to_string(world_size));
    fs::create_directories(root);
    std::ofstream(root / "dp.yaml") << experiment_yaml(world_size);
    const std::string command = "cd " + root.string() + " && " + RUN_EXPERIMENT + " dp.yaml > log 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "see " << root / "log";
  }
  const std::string log = read_file(work / "world2" / "log");
  EXPECT_NE(log.find("model ar: training on 2 data-parallel ranks"), std::string::npos) << log;
  EXPECT_NE(log.find("2 ranks on this machine"), std::string::npos) << log;
  // world_size is no part of the cache key: the same directory name under each cache_dir.
  const fs::path one = only_entry(work / "world1" / "models");
  const fs::path two = only_entry(work / "world2" / "models");
  EXPECT_EQ(one.filename(), two.filename());
  // Both finished all 4 steps (finished.txt: "steps 4", then the training time).
  EXPECT_EQ(read_file(one / "finished.txt").substr(0, 8), "steps 4\n");
  EXPECT_EQ(read_file(two / "finished.txt").substr(0, 8), "steps 4\n");
  // Bound: weight_bound's derivation, 16 rows per batch, lr 1e-3, 4 steps.
  expect_weights_within(one, two, weight_bound(4, 1e-3, 16), 2.0 * 4 * 1e-3);
  // The experiment's results, every run and example field but the timings (compare_results): the one
  // difference is the spec text stored with them (its world_size line). Greedy decoding of weights this
  // close picks the same tokens unless a top-two gap is below ~1e-6.
  const fs::path compared = work / "compare.txt";
  const std::string compare = std::string(COMPARE_RESULTS) + " " + (work / "world1" / "results" / "results.h5").string() +
                              " " + (work / "world2" / "results" / "results.h5").string() + " > " + compared.string();
  EXPECT_NE(std::system(compare.c_str()), 0) << "the stored specs differ in world_size";
  EXPECT_EQ(read_file(compared), "differs: metadata resolved_yaml\n1 differences (1 runs)\n");
  fs::remove_all(work);
}

}  // namespace
