// The split of a grid over shards (greedy longest-first balancing) and the shard folders.
#include "experiments/runner/shard_plan.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <type_traits>
#include <variant>

#include "core/error.h"

extern char** environ;

namespace stepwise::runner {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxShards = 100000;
constexpr int64_t kDefaultGenerationLength = 32;  // the estimate when neither the decoder nor the task sets one

// A non-negative decimal integer, the whole text; nullopt otherwise.
std::optional<int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

int64_t slurm_variable(const std::map<std::string, std::string>& environment, const std::string& name) {
  const auto it = environment.find(name);
  check(it != environment.end(), "--shard slurm: ", name, " is not set (run it as a task of an sbatch --array job)");
  const std::optional<int64_t> value = parse_count(it->second);
  check(value.has_value(), "--shard slurm: ", name, "=", it->second, " is not a non-negative integer");
  return *value;
}

ShardId checked_shard(int64_t index, int64_t count, const std::string& where) {
  check(count >= 1 && count <= kMaxShards, where, ": the number of shards must lie in 1..", kMaxShards, ", got ", count);
  check(index >= 0 && index < count, where, ": the shard index must lie in 0..", count - 1, ", got ", index);
  return ShardId{index, count};
}

}  // namespace

std::string ShardId::name() const { return std::to_string(index) + "-of-" + std::to_string(count); }

ShardId parse_shard(const std::string& text, const std::map<std::string, std::string>& environment) {
  if (text == "slurm") {
    const int64_t id = slurm_variable(environment, "SLURM_ARRAY_TASK_ID");
    if (environment.count("SLURM_ARRAY_TASK_MIN") || environment.count("SLURM_ARRAY_TASK_MAX")) {
      const int64_t first = slurm_variable(environment, "SLURM_ARRAY_TASK_MIN");
      const int64_t last = slurm_variable(environment, "SLURM_ARRAY_TASK_MAX");
      check(first <= id && id <= last, "--shard slurm: SLURM_ARRAY_TASK_ID=", id, " lies outside SLURM_ARRAY_TASK_MIN..MAX = ",
            first, "..", last);
      return checked_shard(id - first, last - first + 1, "--shard slurm (SLURM_ARRAY_TASK_MIN..MAX)");
    }
    return checked_shard(id, slurm_variable(environment, "SLURM_ARRAY_TASK_COUNT"),
                         "--shard slurm (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT)");
  }
  const size_t slash = text.find('/');
  const std::optional<int64_t> index = slash == std::string::npos ? std::nullopt : parse_count(text.substr(0, slash));
  const std::optional<int64_t> count = slash == std::string::npos ? std::nullopt : parse_count(text.substr(slash + 1));
  check(index && count, "--shard: expected I/N (shard I of N, counting from 0) or slurm, got '", text, "'");
  return checked_shard(*index, *count, "--shard " + text);
}

std::map<std::string, std::string> slurm_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const size_t equals = text.find('=');
    if (equals == std::string::npos || text.compare(0, 6, "SLURM_") != 0) continue;
    variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return variables;
}

int64_t estimate_run_cost(const RunSpec& run, const ExperimentSpec& spec) {
  const int64_t generated = run.decoder.gen_length.value_or(spec.task.gen_length.value_or(kDefaultGenerationLength));
  return std::visit(
      [&](const auto& settings) -> int64_t {
        using Settings = std::decay_t<decltype(settings)>;
        if constexpr (std::is_same_v<Settings, DiffusionConfig> || std::is_same_v<Settings, RemaskingConfig>) {
          return std::max<int64_t>(settings.steps, 1);
        } else {
          return std::max<int64_t>(generated, 1);
        }
      },
      run.decoder.settings);
}

std::vector<int64_t> assign_shards(const std::vector<RunSpec>& runs, const ExperimentSpec& spec, int64_t count) {
  check(count >= 1, "the number of shards must be at least 1, got ", count);
  std::vector<int64_t> cost(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) cost[i] = estimate_run_cost(runs[i], spec);
  std::vector<size_t> order(runs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (cost[a] != cost[b]) return cost[a] > cost[b];
    return runs[a].run_id < runs[b].run_id;
  });
  std::vector<int64_t> load(static_cast<size_t>(count), 0);
  std::vector<int64_t> shard_of(runs.size(), 0);
  for (const size_t run : order) {
    const size_t lightest = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    shard_of[run] = static_cast<int64_t>(lightest);
    load[lightest] += cost[run];
  }
  return shard_of;
}

std::vector<RunSpec> runs_of_shard(const std::vector<RunSpec>& runs, const ExperimentSpec& spec, const ShardId& shard) {
  const std::vector<int64_t> shard_of = assign_shards(runs, spec, shard.count);
  std::vector<RunSpec> mine;
  for (size_t i = 0; i < runs.size(); ++i)
    if (shard_of[i] == shard.index) mine.push_back(runs[i]);
  return mine;
}

std::string shards_directory(const std::string& output_dir) { return (fs::path(output_dir) / "shards").string(); }

std::string shard_directory(const std::string& output_dir, const ShardId& shard) {
  return (fs::path(shards_directory(output_dir)) / shard.name()).string();
}

std::optional<ShardId> shard_of_directory_name(const std::string& name) {
  const size_t separator = name.find("-of-");
  if (separator == std::string::npos) return std::nullopt;
  const std::optional<int64_t> index = parse_count(name.substr(0, separator));
  const std::optional<int64_t> count = parse_count(name.substr(separator + 4));
  if (!index || !count || *count < 1 || *count > kMaxShards || *index >= *count) return std::nullopt;
  if (ShardId{*index, *count}.name() != name) return std::nullopt;  // no leading zeros: one folder per shard
  return ShardId{*index, *count};
}

}  // namespace stepwise::runner
