// The server's counters, gauges and latency histograms, and their Prometheus text exposition (format
// 0.0.4: # HELP / # TYPE lines, cumulative `_bucket{le=...}` series with `_sum` and `_count`).
// Thread-safe; torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stepwise::serve {

class LatencyHistogram {
 public:
  explicit LatencyHistogram(std::vector<double> upper_bounds);  // seconds, ascending; +Inf is implied
  void observe(double seconds);
  // The series of metric `name` (no HELP / TYPE lines).
  std::string exposition(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket (not cumulative), the last for +Inf
  double sum_ = 0.0;
  int64_t count_ = 0;
};

// Figures the prefix store reports, copied in when the metrics are read.
struct PrefixStoreFigures {
  bool enabled = false;
  int64_t memory_hits = 0, disk_hits = 0, misses = 0, inserts = 0, disk_writes = 0, torn = 0;
  int64_t memory_entries = 0, memory_bytes = 0;
  int64_t reused_prompt_tokens = 0;  // prompt tokens whose KV came from the store instead of a prefill
};

class ServeMetrics {
 public:
  ServeMetrics();
  // A request answered with `status` (200, 400, 429, 503, 500).
  void count_response(int status);
  void count_batch(int64_t rows);
  void count_tokens(int64_t prompt_tokens, int64_t generated_tokens);
  // A request whose client went away before its answer ended: `queued` while it waited, else decoding.
  void count_cancelled(bool queued);
  void observe_ttft(double seconds);
  void observe_token_latency(double seconds);

  std::string exposition(int64_t queue_length, int64_t running_rows, const PrefixStoreFigures& store) const;

 private:
  mutable std::mutex mutex_;
  std::map<int, int64_t> responses_;  // by HTTP status
  int64_t batches_ = 0, batch_rows_ = 0, last_batch_rows_ = 0;
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  int64_t cancelled_queued_ = 0, cancelled_decoding_ = 0;
  LatencyHistogram ttft_;
  LatencyHistogram token_latency_;
};

}  // namespace stepwise::serve
