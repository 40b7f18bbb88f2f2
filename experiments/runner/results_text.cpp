// CSV summary and JSONL predictions of a list of runs.
#include "experiments/runner/results_text.h"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <set>

#include "core/atomic_file.h"

namespace stepwise::runner {
namespace {

constexpr std::array<const char*, 6> kLeadingColumns = {"run_id", "name", "decoder_type", "model", "task", "metric"};
constexpr std::array<const char*, 7> kTrailingColumns = {"n",      "accuracy",    "mean_nfe",  "tokens_per_s",
                                                         "wall_s", "ttft_mean_s", "ttft_p90_s"};

// Shortest text that reads back as the same double.
std::string number_text(double value) {
  std::array<char, 64> buffer;
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

bool is_fixed_column(const std::string& key) {
  for (const char* column : kLeadingColumns) {
    if (key == column) return true;
  }
  for (const char* column : kTrailingColumns) {
    if (key == column) return true;
  }
  return false;
}

void append_row(std::string& out, const std::vector<std::string>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(cells[i]);
  }
  out += '\n';
}

}  // namespace

std::string csv_field(const std::string& value) {
  const bool needs_quotes = value.find_first_of(",\"\r\n") != std::string::npos ||
                            (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!needs_quotes) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string format_summary_csv(const std::vector<RunRecord>& runs) {
  std::set<std::string> keys;
  for (const auto& run : runs) {
    for (const auto& [key, value] : run.settings) keys.insert(key);
  }
  std::vector<std::string> header(kLeadingColumns.begin(), kLeadingColumns.end());
  for (const auto& key : keys) header.push_back(is_fixed_column(key) ? "settings." + key : key);
  header.insert(header.end(), kTrailingColumns.begin(), kTrailingColumns.end());
  std::string out;
  append_row(out, header);
  for (const auto& run : runs) {
    std::vector<std::string> cells = {run.run_id, run.name, run.decoder_type, run.model, run.task, run.metric};
    for (const auto& key : keys) {
      const auto found = run.settings.find(key);
      cells.push_back(found == run.settings.end() ? "" : found->second);
    }
    cells.push_back(std::to_string(run.examples.size()));
    cells.push_back(number_text(run.accuracy()));
    cells.push_back(number_text(run.mean_forward_calls()));
    cells.push_back(number_text(run.tokens_per_second()));
    cells.push_back(number_text(run.total_wall_s()));
    const LatencySummary ttft = run.ttft_summary();
    cells.push_back(number_text(ttft.mean_s));
    cells.push_back(number_text(ttft.p90_s));
    append_row(out, cells);
  }
  return out;
}

void write_summary_csv(const std::string& path, const std::vector<RunRecord>& runs) {
  write_file_atomically(path, format_summary_csv(runs));
}

std::string format_predictions_jsonl(const std::vector<RunRecord>& runs) {
  std::string out;
  for (const auto& run : runs) {
    for (const auto& example : run.examples) {
      nlohmann::ordered_json line;
      line["run_id"] = run.run_id;
      line["name"] = run.name;
      line["index"] = example.index;
      line["prediction"] = example.prediction;
      line["reference"] = example.reference;
      line["correct"] = example.correct;
      line["nfe"] = example.forward_calls;
      line["wall_s"] = example.wall_s;
      line["ttft_s"] = example.ttft_s;
      out += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      out += '\n';
    }
  }
  return out;
}

void write_predictions_jsonl(const std::string& path, const std::vector<RunRecord>& runs) {
  write_file_atomically(path, format_predictions_jsonl(runs));
}

}  // namespace stepwise::runner
