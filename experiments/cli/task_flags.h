// The command-line flags that describe a generated task (`--task` and each task's shape flags) and the
// problems they generate, shared by `stepwise data` (problems to a file) and `stepwise quantize --task`
// (calibration problems). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/tasks/task_record.h"
#include "experiments/terminal/cli_args.h"

namespace stepwise::cli {

// Adds --task and the shape flags (--size, --givens, --numbers, --degree, --length, --nodes), and
// --held-out when `with_held_out`. `task_help` is --task's help line.
void add_task_flags(ArgParser& parser, const std::string& task_help, bool with_held_out);

struct GeneratedProblems {
  std::vector<tasks::TaskRecord> records;
  std::string description;  // e.g. "4x4 sudoku puzzles, 10 givens"
};

// `count` problems of the task the parsed flags describe, deterministic by `seed`. Throws
// stepwise::Error for an unknown task, a shape flag of another task, or a shape out of range.
GeneratedProblems generate_task_problems(const ArgParser& parser, int64_t count, uint64_t seed);

}  // namespace stepwise::cli
