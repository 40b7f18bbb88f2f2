// `stepwise data`: generate Sudoku, Countdown or path-star problems with their solutions into a JSONL file
// ({"input": ..., "output": ...} per line, Dream's format), deterministic by seed. Torch-free.
#include <chrono>
#include <iostream>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/tasks/countdown_generator.h"
#include "experiments/tasks/pathstar.h"
#include "experiments/tasks/record_jsonl.h"
#include "experiments/tasks/sudoku_generator.h"
#include "experiments/tasks/task_kind.h"

namespace stepwise::cli {
namespace {

// A flag that only one task uses must not be given for the other.
void reject_flag_for(const ArgParser& parser, const std::string& flag, const std::string& task) {
  check(!parser.given(flag), "--", flag, " does not apply to --task ", task);
}

}  // namespace

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
  parser.add_option("task", "TASK", "sudoku | countdown | pathstar");
  parser.add_option("size", "N", "sudoku: grid side, 4 or 9", "4");
  parser.add_option("givens", "K",
                    "sudoku: filled cells, 4-16 for 4x4, 17-81 for 9x9 (default: 10 for 4x4, 30 for 9x9)");
  parser.add_option("numbers", "N", "countdown: start numbers, 3, 4 or 5", "4");
  parser.add_option("degree", "D", "pathstar: arms of the star, 2-10", "3");
  parser.add_option("length", "L", "pathstar: nodes per arm, the center excluded, 1-20", "4");
  parser.add_option("nodes", "N", "pathstar: node labels 0..N-1, at least 1 + D*L, at most 1000", "20");
  parser.add_switch("held-out",
                    "countdown: only the held-out targets; pathstar: only the held-out tenth of graphs\n"
                    "(default: in-distribution, never those)");
  parser.add_option("n", "N", "number of problems");
  parser.add_option("seed", "S", "random seed (non-negative integer)");
  parser.add_option("out", "FILE", "output JSONL file, written atomically");
  if (!parser.parse(args)) return 0;

  const tasks::TaskKind task = tasks::parse_task_kind(parser.get("task"));
  const int64_t count = parser.get_int("n");
  check(count >= 0, "--n must not be negative, got ", count);
  const int64_t seed = parser.get_int("seed");
  check(seed >= 0, "--seed must not be negative, got ", seed);
  const std::string out = parser.get("out");

  const auto start = std::chrono::steady_clock::now();
  std::vector<tasks::TaskRecord> records;
  std::string description;
  if (task != tasks::TaskKind::kPathStar)
    for (const char* flag : {"degree", "length", "nodes"}) reject_flag_for(parser, flag, tasks::task_kind_name(task));
  if (task == tasks::TaskKind::kPathStar) {
    for (const char* flag : {"size", "givens", "numbers"}) reject_flag_for(parser, flag, "pathstar");
    tasks::PathStarSpec spec;
    spec.degree = static_cast<int>(parser.get_int("degree"));
    spec.length = static_cast<int>(parser.get_int("length"));
    spec.nodes = static_cast<int>(parser.get_int("nodes"));
    spec.split = parser.get_switch("held-out") ? tasks::PathStarSplit::kHeldOut : tasks::PathStarSplit::kInDistribution;
    records = tasks::generate_pathstar_records(spec, count, static_cast<uint64_t>(seed));
    description = "path-star graphs, degree " + std::to_string(spec.degree) + ", length " +
                  std::to_string(spec.length) + ", " + std::to_string(spec.nodes) + " labels, " +
                  (spec.split == tasks::PathStarSplit::kHeldOut ? "held-out" : "in-distribution") + " graphs";
  } else if (task == tasks::TaskKind::kSudoku) {
    reject_flag_for(parser, "numbers", "sudoku");
    reject_flag_for(parser, "held-out", "sudoku");
    tasks::SudokuSpec spec;
    spec.size = static_cast<int>(parser.get_int("size"));
    check(spec.size == 4 || spec.size == 9, "--size must be 4 or 9, got ", spec.size);
    spec.givens = static_cast<int>(parser.get_int_optional("givens").value_or(tasks::default_sudoku_givens(spec.size)));
    records = tasks::generate_sudoku_records(spec, count, static_cast<uint64_t>(seed));
    description = std::to_string(spec.size) + "x" + std::to_string(spec.size) + " sudoku puzzles, " +
                  std::to_string(spec.givens) + " givens";
  } else {
    reject_flag_for(parser, "size", "countdown");
    reject_flag_for(parser, "givens", "countdown");
    tasks::CountdownSpec spec;
    spec.numbers = static_cast<int>(parser.get_int("numbers"));
    spec.split =
        parser.get_switch("held-out") ? tasks::CountdownSplit::kHeldOut : tasks::CountdownSplit::kInDistribution;
    records = tasks::generate_countdown_records(spec, count, static_cast<uint64_t>(seed));
    description = "countdown problems, " + std::to_string(spec.numbers) + " numbers, " +
                  (spec.split == tasks::CountdownSplit::kHeldOut ? "held-out" : "in-distribution") + " targets";
  }
  tasks::write_task_records(out, records);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "wrote " << records.size() << " " << description << " (seed " << seed << ") to " << out << " in "
            << seconds << " s\n";
  return 0;
}

}  // namespace stepwise::cli
