// Metric dispatch (which record field each metric reads) and accuracy summaries as JSON
// with keys in a fixed order.
#include "experiments/tasks/scoring.h"

#include "core/error.h"
#include "experiments/tasks/countdown_scorers.h"
#include "experiments/tasks/pathstar_scorers.h"
#include "experiments/tasks/sudoku_scorers.h"

namespace stepwise::tasks {
namespace {

RecordScore pass_fail(bool correct) { return RecordScore{correct ? 1 : 0, 1}; }

}  // namespace

RecordScore score_record(Metric metric, const TaskRecord& record, const std::string& prediction) {
  switch (metric) {
    case Metric::kSudokuExact:
      return pass_fail(sudoku_exact_correct(record.output, prediction));
    case Metric::kSudokuValid:
      return pass_fail(sudoku_valid_correct(record.input, prediction));
    case Metric::kSudokuCells: {
      const CellCount cells = sudoku_cells_count(record.input, record.output, prediction);
      return RecordScore{cells.correct, cells.blank};
    }
    case Metric::kCountdownEquations:
      return pass_fail(countdown_equations_correct(record.input, prediction));
    case Metric::kCountdownNumbers:
      return pass_fail(countdown_numbers_correct(record.input, prediction));
    case Metric::kPathStarExact:
      return pass_fail(pathstar_exact_correct(record.output, prediction));
  }
  fail("unknown metric");
}

bool score_prediction(Metric metric, const TaskRecord& record, const std::string& prediction) {
  check(is_pass_fail(metric), "metric ", metric_name(metric), " credits cells, not whole problems");
  return score_record(metric, record, prediction).correct == 1;
}

void ScoreSummary::add(const RecordScore& score) {
  ++n;
  correct += score.correct;
  total += score.total;
}

nlohmann::ordered_json ScoreSummary::to_json() const {
  nlohmann::ordered_json out{{"metric", metric_name(metric)}, {"n", n}, {"correct", correct}};
  if (!is_pass_fail(metric)) out["cells"] = total;
  out["accuracy"] = accuracy();
  return out;
}

ScoreSummary score_predictions(Metric metric, const std::vector<TaskRecord>& records,
                               const std::vector<std::string>& predictions) {
  check(records.size() == predictions.size(), "got ", predictions.size(), " predictions for ", records.size(),
        " records");
  ScoreSummary summary{metric, 0, 0, 0};
  for (size_t i = 0; i < records.size(); ++i) summary.add(score_record(metric, records[i], predictions[i]));
  return summary;
}

}  // namespace stepwise::tasks
