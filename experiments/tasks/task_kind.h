// The planning task families: Sudoku (4x4 and 9x9), Countdown (3, 4, 5 numbers) and path-star graphs.
// Names are the spellings used on the command line and in result files.
#pragma once

#include <string>

namespace stepwise::tasks {

enum class TaskKind { kSudoku, kCountdown, kPathStar };

std::string task_kind_name(TaskKind kind);
// "sudoku" | "countdown" | "pathstar"; anything else throws stepwise::Error listing the choices.
TaskKind parse_task_kind(const std::string& name);

}  // namespace stepwise::tasks
