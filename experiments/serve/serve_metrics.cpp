// Counters and histograms of the server in the Prometheus text format.
#include "experiments/serve/serve_metrics.h"

#include <sstream>

namespace stepwise::serve {
namespace {

std::string number(double value) {
  std::ostringstream out;
  out.precision(9);
  out << value;
  return out.str();
}

void header(std::ostringstream& out, const std::string& name, const std::string& type, const std::string& help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

void single(std::ostringstream& out, const std::string& name, const std::string& type, const std::string& help,
            double value) {
  header(out, name, type, help);
  out << name << " " << number(value) << "\n";
}

}  // namespace

LatencyHistogram::LatencyHistogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void LatencyHistogram::observe(double seconds) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && seconds > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += seconds;
  ++count_;
}

std::string LatencyHistogram::exposition(const std::string& name) const {
  std::ostringstream out;
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{le=\"" << number(bounds_[i]) << "\"} " << cumulative << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << "\n";
  out << name << "_sum " << number(sum_) << "\n" << name << "_count " << count_ << "\n";
  return out.str();
}

ServeMetrics::ServeMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      token_latency_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void ServeMetrics::count_response(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++responses_[status];
}

void ServeMetrics::count_batch(int64_t rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++batches_;
  batch_rows_ += rows;
  last_batch_rows_ = rows;
}

void ServeMetrics::count_tokens(int64_t prompt_tokens, int64_t generated_tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += prompt_tokens;
  generated_tokens_ += generated_tokens;
}

void ServeMetrics::count_cancelled(bool queued) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++(queued ? cancelled_queued_ : cancelled_decoding_);
}

void ServeMetrics::observe_ttft(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ttft_.observe(seconds);
}

void ServeMetrics::observe_token_latency(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  token_latency_.observe(seconds);
}

std::string ServeMetrics::exposition(int64_t queue_length, int64_t running_rows,
                                     const PrefixStoreFigures& store) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  header(out, "stepwise_requests_total", "counter", "Requests answered, by HTTP status.");
  for (const auto& [status, count] : responses_)
    out << "stepwise_requests_total{status=\"" << status << "\"} " << count << "\n";
  single(out, "stepwise_prompt_tokens_total", "counter", "Prompt tokens of decoded requests.", prompt_tokens_);
  single(out, "stepwise_generated_tokens_total", "counter", "Tokens generated.", generated_tokens_);
  header(out, "stepwise_cancelled_requests_total", "counter",
         "Requests whose client went away before the answer ended, by where they were.");
  out << "stepwise_cancelled_requests_total{where=\"queued\"} " << cancelled_queued_ << "\n";
  out << "stepwise_cancelled_requests_total{where=\"decoding\"} " << cancelled_decoding_ << "\n";
  single(out, "stepwise_queue_length", "gauge", "Requests waiting for a batch.", queue_length);
  single(out, "stepwise_running_rows", "gauge", "Rows in the decode call running now.", running_rows);
  single(out, "stepwise_batches_total", "counter", "Decode calls.", batches_);
  single(out, "stepwise_batch_rows_total", "counter", "Rows over all decode calls.", batch_rows_);
  single(out, "stepwise_last_batch_rows", "gauge", "Rows of the latest decode call.", last_batch_rows_);
  header(out, "stepwise_time_to_first_token_seconds", "histogram", "From arrival to the first generated token.");
  out << ttft_.exposition("stepwise_time_to_first_token_seconds");
  header(out, "stepwise_token_latency_seconds", "histogram", "Mean time per generated token after the first, per request.");
  out << token_latency_.exposition("stepwise_token_latency_seconds");
  single(out, "stepwise_prefix_store_enabled", "gauge", "1 when --prefix-cache is on.", store.enabled ? 1 : 0);
  single(out, "stepwise_prefix_store_memory_hits_total", "counter", "Prefix store lookups served from memory.",
         store.memory_hits);
  single(out, "stepwise_prefix_store_disk_hits_total", "counter", "Prefix store lookups served from disk.",
         store.disk_hits);
  single(out, "stepwise_prefix_store_misses_total", "counter", "Prefix store lookups that found nothing.", store.misses);
  single(out, "stepwise_prefix_store_inserts_total", "counter", "KV blocks stored.", store.inserts);
  single(out, "stepwise_prefix_store_disk_writes_total", "counter", "KV blocks written to disk.", store.disk_writes);
  single(out, "stepwise_prefix_store_torn_total", "counter", "Damaged disk entries found and ignored.", store.torn);
  single(out, "stepwise_prefix_store_memory_entries", "gauge", "KV blocks held in memory.", store.memory_entries);
  single(out, "stepwise_prefix_store_memory_bytes", "gauge", "Bytes of KV held in memory.", store.memory_bytes);
  single(out, "stepwise_prefix_reused_prompt_tokens_total", "counter",
         "Prompt tokens whose KV came from the store instead of a prefill.", store.reused_prompt_tokens);
  return out.str();
}

}  // namespace stepwise::serve
