// Scoring by metric: one prediction against its record, and a whole prediction list summarized as
// {"metric", "n", "correct", "accuracy"} (sudoku_cells adds "cells": correct counts cells there). Which
// record field a metric reads: sudoku_exact and pathstar_exact the output, sudoku_cells both, the
// others the input. See sudoku_scorers.h, countdown_scorers.h, pathstar_scorers.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiments/tasks/metric.h"
#include "experiments/tasks/task_record.h"

namespace stepwise::tasks {

// Credit of one prediction: `correct` of `total` units (1 of 1 or 0 of 1 for pass/fail metrics).
struct RecordScore {
  int64_t correct = 0;
  int64_t total = 1;
};

// Never throws for a malformed prediction; throws stepwise::Error for a malformed record.
RecordScore score_record(Metric metric, const TaskRecord& record, const std::string& prediction);
// Pass/fail metrics only (stepwise::Error for sudoku_cells).
bool score_prediction(Metric metric, const TaskRecord& record, const std::string& prediction);

struct ScoreSummary {
  Metric metric = Metric::kSudokuExact;
  int64_t n = 0;        // problems
  int64_t correct = 0;  // units correct: problems, or cells for sudoku_cells
  int64_t total = 0;    // units scored

  double accuracy() const { return total == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(total); }
  void add(const RecordScore& score);
  nlohmann::ordered_json to_json() const;  // keys in the order metric, n, correct, [cells,] accuracy
};

// `predictions[i]` answers `records[i]`; the sizes must match (stepwise::Error otherwise).
ScoreSummary score_predictions(Metric metric, const std::vector<TaskRecord>& records,
                               const std::vector<std::string>& predictions);

}  // namespace stepwise::tasks
