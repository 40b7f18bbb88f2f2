// `stepwise data`: generate Sudoku, Countdown or path-star problems with their solutions into a JSONL file
// ({"input": ..., "output": ...} per line, Dream's format), deterministic by seed. Torch-free.
#include <chrono>
#include <iostream>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/task_flags.h"
#include "experiments/tasks/record_jsonl.h"
#include "experiments/tasks/task_kind.h"

namespace stepwise::cli {
int run_data(const Args& args) {
  ArgParser parser(
      "stepwise data --task sudoku|countdown|pathstar [--size 4|9] [--givens K] [--numbers 3|4|5]\n"
      "                     [--degree D --length L --nodes N] [--held-out]\n"
      "                     --n N --seed S --out FILE.jsonl",
      "Generate task problems with solutions, one JSON object {\"input\": ..., \"output\": ...} per line.\n"
      "Sudoku: unique solution, exactly K givens; 4x4 as four lines of digits, 9x9 as 81 digits, 0 = blank.\n"
      "Countdown: start numbers 1-99, target 10-100, solution \"a+b=c,...\"; the input lists the numbers\n"
      "then the target.\n"
      "Path-star: a star of D arms of L nodes, labels from 0..N-1; input \"a,b|c,d|...|e,f/S,G\" (edges away\n"
      "from the center S, shuffled, then start and goal), output the path \"S,n1,...,G\".\n"
      "The same flags and seed always give the same file.");
  add_task_flags(parser, "sudoku | countdown | pathstar", /*with_held_out=*/true);
  parser.add_option("n", "N", "number of problems");
  parser.add_option("seed", "S", "random seed (non-negative integer)");
  parser.add_option("out", "FILE", "output JSONL file, written atomically");
  if (!parser.parse(args)) return 0;

  tasks::parse_task_kind(parser.get("task"));  // an unknown task is named before any other flag
  const int64_t count = parser.get_int("n");
  check(count >= 0, "--n must not be negative, got ", count);
  const int64_t seed = parser.get_int("seed");
  check(seed >= 0, "--seed must not be negative, got ", seed);
  const std::string out = parser.get("out");

  const auto start = std::chrono::steady_clock::now();
  const GeneratedProblems problems = generate_task_problems(parser, count, static_cast<uint64_t>(seed));
  const std::vector<tasks::TaskRecord>& records = problems.records;
  const std::string& description = problems.description;
  tasks::write_task_records(out, records);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "wrote " << records.size() << " " << description << " (seed " << seed << ") to " << out << " in "
            << seconds << " s\n";
  return 0;
}

}  // namespace stepwise::cli
