// Mean and nearest-rank 90th percentile of a list of latencies.
#include "core/latency_summary.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>

namespace stepwise {

LatencySummary summarize_latencies(std::vector<double> seconds) {
  if (seconds.empty()) return {};
  std::sort(seconds.begin(), seconds.end());
  LatencySummary summary;
  summary.mean_s = std::accumulate(seconds.begin(), seconds.end(), 0.0) / static_cast<double>(seconds.size());
  const auto rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(seconds.size())));
  summary.p90_s = seconds[std::max<size_t>(rank, 1) - 1];
  return summary;
}

}  // namespace stepwise
