// Task family names (sudoku, countdown, pathstar) for the command line and result files; parse errors
// list the choices.
#include "experiments/tasks/task_kind.h"

#include "core/error.h"

namespace stepwise::tasks {

std::string task_kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::kSudoku:
      return "sudoku";
    case TaskKind::kCountdown:
      return "countdown";
    case TaskKind::kPathStar:
      return "pathstar";
  }
  fail("unknown task kind");
}

TaskKind parse_task_kind(const std::string& name) {
  if (name == "sudoku") return TaskKind::kSudoku;
  if (name == "countdown") return TaskKind::kCountdown;
  if (name == "pathstar") return TaskKind::kPathStar;
  fail("unknown task '", name, "' (choices: sudoku, countdown, pathstar)");
}

}  // namespace stepwise::tasks
