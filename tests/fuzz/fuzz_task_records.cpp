// Fuzz target: the task JSONL readers and the scorers. The input is read as a data file and as a
// predictions file; each either reads or throws stepwise::Error naming the file and line. Records that read
// are written back and read again unchanged. Every scorer is then run on every record against every
// prediction (and against the records' own texts): a scorer may throw for a malformed record, but for a
// record it accepts it never throws, whatever the prediction.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "experiments/tasks/metric.h"
#include "experiments/tasks/record_jsonl.h"
#include "experiments/tasks/scoring.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace stepwise;

// Whether `metric` accepts `record` at all: scoring a well-formed (empty) prediction does not throw.
bool accepts_record(tasks::Metric metric, const tasks::TaskRecord& record) {
  try {
    tasks::score_prediction(metric, record, "");
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::scratch_dir() + "/records.jsonl";
  fuzz::write_bytes(path, data, size);

  std::vector<tasks::TaskRecord> records;
  try {
    records = tasks::read_task_records(path);
  } catch (const Error&) {
  }
  std::vector<std::string> read_predictions;
  try {
    read_predictions = tasks::read_predictions(path);
  } catch (const Error&) {
  }
  std::vector<std::string> predictions = read_predictions;
  // The raw input, cut into lines, also serves as predictions (malformed ones included).
  const std::string raw(reinterpret_cast<const char*>(data), size);
  predictions.push_back(raw);
  for (size_t start = 0; start < raw.size() && predictions.size() < 64;) {
    const size_t end = raw.find('\n', start);
    predictions.push_back(raw.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }

  const std::string copy = fuzz::scratch_dir() + "/copy.jsonl";
  if (!records.empty()) {
    tasks::write_task_records(copy, records);
    FUZZ_EXPECT(tasks::read_task_records(copy) == records);
  }
  if (!read_predictions.empty()) {
    tasks::write_predictions(copy, read_predictions);
    FUZZ_EXPECT(tasks::read_predictions(copy) == read_predictions);
  }

  for (const tasks::Metric metric : tasks::all_metrics()) {
    for (const auto& record : records) {
      if (!accepts_record(metric, record)) continue;
      try {
        for (const auto& prediction : predictions) tasks::score_prediction(metric, record, prediction);
        tasks::score_prediction(metric, record, record.input);
        tasks::score_prediction(metric, record, record.output);
      } catch (...) {
        FUZZ_EXPECT(!"a scorer threw for a malformed prediction");
      }
      // A solution matches itself exactly whenever it is a grid the scorer accepts.
      if (metric == tasks::Metric::kSudokuExact) FUZZ_EXPECT(tasks::score_prediction(metric, record, record.output));
    }
  }
  return 0;
}
