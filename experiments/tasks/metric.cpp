// Metric names as used on the command line and in result files, and the task each metric
// scores; parse errors list the valid names.
#include "experiments/tasks/metric.h"

#include "core/error.h"

namespace stepwise::tasks {

std::vector<Metric> all_metrics() {
  return {Metric::kSudokuExact,        Metric::kSudokuValid,       Metric::kSudokuCells,
          Metric::kCountdownEquations, Metric::kCountdownNumbers, Metric::kPathStarExact};
}

std::string metric_name(Metric metric) {
  switch (metric) {
    case Metric::kSudokuExact:
      return "sudoku_exact";
    case Metric::kSudokuValid:
      return "sudoku_valid";
    case Metric::kSudokuCells:
      return "sudoku_cells";
    case Metric::kCountdownEquations:
      return "countdown_equations";
    case Metric::kCountdownNumbers:
      return "countdown_numbers";
    case Metric::kPathStarExact:
      return "pathstar_exact";
  }
  fail("unknown metric");
}

Metric parse_metric(const std::string& name) {
  std::string choices;
  for (Metric metric : all_metrics()) {
    if (metric_name(metric) == name) return metric;
    choices += (choices.empty() ? "" : ", ") + metric_name(metric);
  }
  fail("unknown metric '", name, "' (choices: ", choices, ")");
}

TaskKind metric_task(Metric metric) {
  switch (metric) {
    case Metric::kSudokuExact:
    case Metric::kSudokuValid:
    case Metric::kSudokuCells:
      return TaskKind::kSudoku;
    case Metric::kCountdownEquations:
    case Metric::kCountdownNumbers:
      return TaskKind::kCountdown;
    case Metric::kPathStarExact:
      return TaskKind::kPathStar;
  }
  fail("unknown metric");
}

bool is_pass_fail(Metric metric) { return metric != Metric::kSudokuCells; }

}  // namespace stepwise::tasks
