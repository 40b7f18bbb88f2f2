// Data-parallel training end to end: `stepwise train --nproc 2` (two processes over c10d Gloo on this
// machine, each on half of every batch, gradients summed) ends with the weights of one process trained
// on the same global batch, within a float32 bound, and starts from the same loss.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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

TEST(DataParallel, TwoRanksEqualOneRankWithTheGlobalBatch) {
  const fs::path work = fs::temp_directory_path() / ("stepwise_dp_" + std::to_string(::getpid()));
  fs::create_directories(work);
  ASSERT_EQ(std::system(train_command(work / "one", "").c_str()), 0) << "see " << work / "one.log";
  ASSERT_EQ(std::system(train_command(work / "two", "--nproc 2").c_str()), 0) << "see " << work / "two.log";
  const auto one = stepwise::load_checkpoint((work / "one").string());
  const auto two = stepwise::load_checkpoint((work / "two").string());
  const auto a = one->named_parameters();
  const auto b = two->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  // Bound. The two runs differ only in summation order: each rank sums its half of the weight gradients'
  // reductions over batch rows and positions (at most kRows = 16 rows x 64 positions terms) and the
  // halves are added, where one process sums all rows at once; per element the gradients then differ by
  // at most float32_bound(|g|, kRows) (numeric_bounds.h). AdamW's step lr * m / (sqrt(v) + eps) is
  // invariant to the scale of g and moves by at most twice g's relative change (m is linear in g, sqrt(v)
  // too), so each step's update, of magnitude <= lr here (bias-corrected Adam directions stay <= 1 over
  // these few steps), differs by at most 2 * float32_bound(lr, kRows); over the steps the differences add.
  // A rank that trained on its half alone (no all-reduce) moves weights by about lr per step: 1e-3, three
  // orders of magnitude above the bound.
  constexpr int64_t kRows = 16 * 64;
  constexpr double kLearningRate = 1e-3;
  constexpr int64_t kSteps = 4;
  const double bound = 2.0 * stepwise::testing::float32_bound(kSteps * kLearningRate, kRows);
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    const double difference = (a[i].second - b[i].second).abs().max().item<double>();
    worst = std::max(worst, difference);
    EXPECT_LE(difference, bound) << a[i].first;
  }
  if (std::getenv("STEPWISE_REPORT_BOUNDS")) std::cout << "weights: " << worst << " <= " << bound << "\n";
  // The first step's loss is a forward pass on the same weights: the sum of the ranks' partial losses.
  auto first_loss = [](const fs::path& out) {
    std::ifstream in(out / "training_summary.json");
    return nlohmann::json::parse(in)["training"]["first_loss"].get<double>();
  };
  const double loss_one = first_loss(work / "one");
  EXPECT_NEAR(first_loss(work / "two"), loss_one, stepwise::testing::float32_bound(loss_one, kRows));
  fs::remove_all(work);
}

}  // namespace
