// The split of a grid over shards and the rank variables of data-parallel training: exact properties
// (every run in exactly one shard, the same split whatever the order runs are listed in, balance within
// one run's cost of the optimum's lower bound), and parsing of --shard and of Slurm's and torchrun's
// variables with errors naming the variable.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <string>

#include "core/error.h"
#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/shard_plan.h"
#include "experiments/training/distributed.h"
#include "tests/support/expect_error.h"

namespace stepwise::runner {
namespace {

RunSpec diffusion_run(const std::string& id, int64_t steps) {
  RunSpec run;
  run.run_id = id;
  DiffusionConfig config;
  config.steps = steps;
  run.decoder.settings = config;
  return run;
}

std::vector<RunSpec> sample_runs() {
  std::vector<RunSpec> runs;
  const int64_t steps[] = {1, 2, 4, 8, 16, 32, 64, 3, 5, 7, 9, 11};
  for (size_t i = 0; i < std::size(steps); ++i) runs.push_back(diffusion_run("run-" + std::to_string(i), steps[i]));
  return runs;
}

TEST(ShardPlan, EveryRunInExactlyOneShardAndBalanced) {
  const ExperimentSpec spec;
  const std::vector<RunSpec> runs = sample_runs();
  for (int64_t count : {1, 2, 3, 5, 12, 20}) {
    const std::vector<int64_t> shard_of = assign_shards(runs, spec, count);
    ASSERT_EQ(shard_of.size(), runs.size());
    std::vector<int64_t> load(static_cast<size_t>(count), 0);
    int64_t total = 0, largest = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
      ASSERT_GE(shard_of[i], 0);
      ASSERT_LT(shard_of[i], count);
      const int64_t cost = estimate_run_cost(runs[i], spec);
      load[static_cast<size_t>(shard_of[i])] += cost;
      total += cost;
      largest = std::max(largest, cost);
    }
    // Greedy: the last run given to the heaviest shard found it the lightest, so at most the mean load;
    // the heaviest shard exceeds the perfect share by at most one run's cost.
    const int64_t heaviest = *std::max_element(load.begin(), load.end());
    EXPECT_LE(heaviest, (total + count - 1) / count + largest) << count << " shards";
    size_t union_size = 0;
    for (int64_t shard = 0; shard < count; ++shard) union_size += runs_of_shard(runs, spec, {shard, count}).size();
    EXPECT_EQ(union_size, runs.size());
  }
}

TEST(ShardPlan, AssignmentDependsOnRunIdsNotListOrder) {
  const ExperimentSpec spec;
  std::vector<RunSpec> runs = sample_runs();
  const std::vector<int64_t> first = assign_shards(runs, spec, 3);
  std::map<std::string, int64_t> by_id;
  for (size_t i = 0; i < runs.size(); ++i) by_id[runs[i].run_id] = first[i];
  std::mt19937 shuffle_random(7);
  std::shuffle(runs.begin(), runs.end(), shuffle_random);
  const std::vector<int64_t> second = assign_shards(runs, spec, 3);
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(second[i], by_id[runs[i].run_id]) << runs[i].run_id;
}

TEST(ShardPlan, ParsesShardFlagAndSlurmArrayVariables) {
  const ShardId explicit_shard = parse_shard("2/5", {});
  EXPECT_EQ(explicit_shard.index, 2);
  EXPECT_EQ(explicit_shard.count, 5);
  EXPECT_EQ(explicit_shard.name(), "2-of-5");
  const ShardId from_range =
      parse_shard("slurm", {{"SLURM_ARRAY_TASK_ID", "12"}, {"SLURM_ARRAY_TASK_MIN", "10"}, {"SLURM_ARRAY_TASK_MAX", "13"}});
  EXPECT_EQ(from_range.index, 2);
  EXPECT_EQ(from_range.count, 4);
  const ShardId from_count = parse_shard("slurm", {{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_EQ(from_count.index, 1);
  EXPECT_EQ(from_count.count, 3);
  testing::expect_error([] { parse_shard("5/5", {}); }, {"--shard 5/5"});
  testing::expect_error([] { parse_shard("1/x", {}); }, {"expected I/N"});
  testing::expect_error([] { parse_shard("slurm", {}); }, {"SLURM_ARRAY_TASK_ID is not set"});
  testing::expect_error([] { parse_shard("slurm", {{"SLURM_ARRAY_TASK_ID", "a"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}); },
                        {"SLURM_ARRAY_TASK_ID=a"});
  EXPECT_EQ(shard_of_directory_name("2-of-5")->index, 2);
  EXPECT_FALSE(shard_of_directory_name("02-of-5").has_value());
  EXPECT_FALSE(shard_of_directory_name("5-of-5").has_value());
  EXPECT_FALSE(shard_of_directory_name("notes").has_value());
}

TEST(RankEnvironment, TorchrunAndSlurmVariables) {
  using training::rank_environment;
  EXPECT_FALSE(rank_environment({}).has_value());
  EXPECT_FALSE(rank_environment({{"SLURM_NTASKS", "1"}, {"SLURM_PROCID", "0"}}).has_value());
  const auto torchrun =
      rank_environment({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"}});
  ASSERT_TRUE(torchrun.has_value());
  EXPECT_EQ(torchrun->rank, 1);
  EXPECT_EQ(torchrun->world_size, 4);
  EXPECT_EQ(torchrun->master_addr, "node7");
  EXPECT_EQ(torchrun->master_port, 1234);
  const auto slurm = rank_environment({{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "3"}, {"SLURM_JOB_NODELIST", "gpu[04-07]"}});
  ASSERT_TRUE(slurm.has_value());
  EXPECT_EQ(slurm->rank, 3);
  EXPECT_EQ(slurm->world_size, 8);
  EXPECT_EQ(slurm->master_addr, "gpu04");
  EXPECT_EQ(slurm->master_port, training::kDefaultMasterPort);
  EXPECT_EQ(training::first_slurm_host("a[1,3],b"), "a1");
  EXPECT_EQ(training::first_slurm_host("x,y"), "x");
  EXPECT_EQ(training::first_slurm_host("solo"), "solo");
  testing::expect_error([] { rank_environment({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }, {"rank 2 is not below"});
  testing::expect_error([] { rank_environment({{"RANK", "0"}}); }, {"WORLD_SIZE is not set"});
  testing::expect_error([] { rank_environment({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}); },
                        {"MASTER_PORT=70000"});
}

}  // namespace
}  // namespace stepwise::runner
