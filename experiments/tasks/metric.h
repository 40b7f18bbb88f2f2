// The accuracy metrics of the planning tasks and the task each one belongs to:
//   sudoku_exact        exact match with the solution ("Beyond Autoregression")
//   sudoku_valid        givens kept, every row / column / box complete (Dream's is_valid_sudoku)
//   sudoku_cells        blank cells filled correctly over all blank cells (d1's cell accuracy)
//   countdown_equations every step correct, last result = target ("Beyond Autoregression")
//   countdown_numbers   also the numbers used balance the inputs (Dream's Countdown check)
//   pathstar_exact      the predicted path equals the path from the center to the goal
// Every metric but sudoku_cells is pass/fail per problem; sudoku_cells credits cells.
#pragma once

#include <string>
#include <vector>

#include "experiments/tasks/task_kind.h"

namespace stepwise::tasks {

enum class Metric { kSudokuExact, kSudokuValid, kSudokuCells, kCountdownEquations, kCountdownNumbers, kPathStarExact };

std::string metric_name(Metric metric);
// Throws stepwise::Error listing the valid names.
Metric parse_metric(const std::string& name);
TaskKind metric_task(Metric metric);
std::vector<Metric> all_metrics();
// True for the metrics that pass or fail a whole problem (all but sudoku_cells).
bool is_pass_fail(Metric metric);

}  // namespace stepwise::tasks
