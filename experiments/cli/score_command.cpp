// `stepwise score`: accuracy of a predictions file against a task data file under one metric,
// printed as JSON {"metric", "n", "correct", "accuracy"} (sudoku_cells adds "cells"), optionally after
// the plain format's layout step. Torch-free.
#include <iostream>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/tasks/metric.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/record_jsonl.h"
#include "experiments/tasks/scoring.h"
#include "experiments/tasks/task_kind.h"

namespace stepwise::cli {

int run_score(const Args& args) {
  ArgParser parser(
      "stepwise score --task sudoku|countdown|pathstar --metric NAME --data FILE.jsonl --predictions FILE.jsonl\n"
      "                      [--layout plain]",
      "Score predictions against task data and print {\"metric\", \"n\", \"correct\", \"accuracy\"} as JSON.\n"
      "The predictions file holds one {\"prediction\": \"...\"} per line, in the order of the data file.\n"
      "Metrics: sudoku_exact (matches the solution), sudoku_valid (Dream's is_valid_sudoku: grid lines,\n"
      "givens kept, rows/columns/boxes complete), sudoku_cells (d1: blank cells filled correctly over all\n"
      "blank cells), countdown_equations (every step correct, last result = target), countdown_numbers\n"
      "(also every start number and intermediate result used exactly once), pathstar_exact (the path\n"
      "from the center to the goal). --layout plain first lays Sudoku answers written without line\n"
      "breaks (the plain format of models trained here) out in grid lines.");
  parser.add_option("task", "TASK", "sudoku | countdown | pathstar");
  parser.add_option("metric", "NAME",
                    "sudoku_exact | sudoku_valid | sudoku_cells | countdown_equations | countdown_numbers |\n"
                    "pathstar_exact");
  parser.add_option("layout", "STEP", "as-is (default) | plain (the plain format's layout step before scoring)",
                    "as-is");
  parser.add_option("data", "FILE", "task data JSONL: {\"input\": ..., \"output\": ...} per line");
  parser.add_option("predictions", "FILE", "predictions JSONL: {\"prediction\": ...} per line");
  if (!parser.parse(args)) return 0;

  const tasks::TaskKind task = tasks::parse_task_kind(parser.get("task"));
  const tasks::Metric metric = tasks::parse_metric(parser.get("metric"));
  check(tasks::metric_task(metric) == task, "metric ", tasks::metric_name(metric), " scores ",
        tasks::task_kind_name(tasks::metric_task(metric)), ", not --task ", tasks::task_kind_name(task));

  const std::string data_path = parser.get("data");
  const std::string predictions_path = parser.get("predictions");
  std::vector<size_t> data_lines;
  std::vector<size_t> prediction_lines;
  const auto records = tasks::read_task_records(data_path, &data_lines);
  const auto predictions = tasks::read_predictions(predictions_path, &prediction_lines);
  if (predictions.size() < records.size())
    fail(predictions_path, ": has ", predictions.size(), " predictions but ", data_path, " has ", records.size(),
         " records; the first without a prediction is at ", data_path, ":", data_lines[predictions.size()]);
  if (predictions.size() > records.size())
    fail(predictions_path, ":", prediction_lines[records.size()], ": prediction without a data record (", data_path,
         " has ", records.size(), " records)");

  const std::string layout = parser.get("layout");
  check(layout == "as-is" || layout == "plain", "--layout: expected as-is or plain, got '", layout, "'");
  tasks::ScoreSummary summary{metric, 0, 0, 0};
  for (size_t i = 0; i < records.size(); ++i) {
    try {
      const std::string answer =
          layout == "plain" ? tasks::restore_answer_layout(task, records[i].input, predictions[i]) : predictions[i];
      summary.add(tasks::score_record(metric, records[i], answer));
    } catch (const Error& e) {
      fail(data_path, ":", data_lines[i], ": ", e.what());
    }
  }
  std::cout << summary.to_json().dump() << "\n";
  return 0;
}

}  // namespace stepwise::cli
