// Summary figures of a run.
#include "experiments/runner/run_record.h"

#include <utility>

namespace stepwise::runner {

double RunRecord::accuracy() const {
  if (examples.empty()) return 0.0;
  int64_t correct = 0;
  for (const auto& example : examples) correct += example.correct ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(examples.size());
}

double RunRecord::mean_forward_calls() const {
  if (examples.empty()) return 0.0;
  double total = 0.0;
  for (const auto& example : examples) total += static_cast<double>(example.forward_calls);
  return total / static_cast<double>(examples.size());
}

double RunRecord::total_wall_s() const {
  double total = 0.0;
  for (const auto& example : examples) total += example.wall_s;
  return total;
}

double RunRecord::tokens_per_second() const {
  double tokens = 0.0;
  for (const auto& example : examples) tokens += static_cast<double>(example.generated_tokens);
  const double wall = total_wall_s();
  return wall > 0.0 ? tokens / wall : 0.0;
}

LatencySummary RunRecord::ttft_summary() const {
  std::vector<double> seconds;
  seconds.reserve(examples.size());
  for (const auto& example : examples) seconds.push_back(example.ttft_s);
  return summarize_latencies(std::move(seconds));
}

}  // namespace stepwise::runner
