// Mean and 90th percentile of per-request latencies (times to first token), the figures request
// orders are judged by. Torch-free, so the results files (experiments/runner) report them too.
#pragma once

#include <vector>

namespace stepwise {

struct LatencySummary {
  double mean_s = 0.0;
  double p90_s = 0.0;  // nearest rank: the smallest value with at least 90 % of the values at or below it
};

// Zeros for an empty list.
LatencySummary summarize_latencies(std::vector<double> seconds);

}  // namespace stepwise
