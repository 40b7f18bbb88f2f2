// Task flags of the command line and the problems they generate (see task_flags.h).
#include "experiments/cli/task_flags.h"

#include "core/error.h"
#include "experiments/tasks/countdown_generator.h"
#include "experiments/tasks/pathstar.h"
#include "experiments/tasks/sudoku_generator.h"
#include "experiments/tasks/task_kind.h"

namespace stepwise::cli {
namespace {

// A flag that only one task uses must not be given for another.
void reject_flag_for(const ArgParser& parser, const std::string& flag, const std::string& task) {
  check(!parser.given(flag), "--", flag, " does not apply to --task ", task);
}

bool held_out(const ArgParser& parser) { return parser.has("held-out") && parser.get_switch("held-out"); }

}  // namespace

void add_task_flags(ArgParser& parser, const std::string& task_help, bool with_held_out) {
  parser.add_option("task", "TASK", task_help);
  parser.add_option("size", "N", "sudoku: grid side, 4 or 9", "4");
  parser.add_option("givens", "K",
                    "sudoku: filled cells, 4-16 for 4x4, 17-81 for 9x9 (default: 10 for 4x4, 30 for 9x9)");
  parser.add_option("numbers", "N", "countdown: start numbers, 3, 4 or 5", "4");
  parser.add_option("degree", "D", "pathstar: arms of the star, 2-10", "3");
  parser.add_option("length", "L", "pathstar: nodes per arm, the center excluded, 1-20", "4");
  parser.add_option("nodes", "N", "pathstar: node labels 0..N-1, at least 1 + D*L, at most 1000", "20");
  if (with_held_out)
    parser.add_switch("held-out",
                      "countdown: only the held-out targets; pathstar: only the held-out tenth of graphs\n"
                      "(default: in-distribution, never those)");
}

GeneratedProblems generate_task_problems(const ArgParser& parser, int64_t count, uint64_t seed) {
  const tasks::TaskKind task = tasks::parse_task_kind(parser.get("task"));
  GeneratedProblems out;
  if (task != tasks::TaskKind::kPathStar)
    for (const char* flag : {"degree", "length", "nodes"}) reject_flag_for(parser, flag, tasks::task_kind_name(task));
  if (task == tasks::TaskKind::kPathStar) {
    for (const char* flag : {"size", "givens", "numbers"}) reject_flag_for(parser, flag, "pathstar");
    tasks::PathStarSpec spec;
    spec.degree = static_cast<int>(parser.get_int("degree"));
    spec.length = static_cast<int>(parser.get_int("length"));
    spec.nodes = static_cast<int>(parser.get_int("nodes"));
    spec.split = held_out(parser) ? tasks::PathStarSplit::kHeldOut : tasks::PathStarSplit::kInDistribution;
    out.records = tasks::generate_pathstar_records(spec, count, seed);
    out.description = "path-star graphs, degree " + std::to_string(spec.degree) + ", length " +
                      std::to_string(spec.length) + ", " + std::to_string(spec.nodes) + " labels, " +
                      (spec.split == tasks::PathStarSplit::kHeldOut ? "held-out" : "in-distribution") + " graphs";
  } else if (task == tasks::TaskKind::kSudoku) {
    reject_flag_for(parser, "numbers", "sudoku");
    if (parser.has("held-out")) reject_flag_for(parser, "held-out", "sudoku");
    tasks::SudokuSpec spec;
    spec.size = static_cast<int>(parser.get_int("size"));
    check(spec.size == 4 || spec.size == 9, "--size must be 4 or 9, got ", spec.size);
    spec.givens = static_cast<int>(parser.get_int_optional("givens").value_or(tasks::default_sudoku_givens(spec.size)));
    out.records = tasks::generate_sudoku_records(spec, count, seed);
    out.description = std::to_string(spec.size) + "x" + std::to_string(spec.size) + " sudoku puzzles, " +
                      std::to_string(spec.givens) + " givens";
  } else {
    reject_flag_for(parser, "size", "countdown");
    reject_flag_for(parser, "givens", "countdown");
    tasks::CountdownSpec spec;
    spec.numbers = static_cast<int>(parser.get_int("numbers"));
    spec.split = held_out(parser) ? tasks::CountdownSplit::kHeldOut : tasks::CountdownSplit::kInDistribution;
    out.records = tasks::generate_countdown_records(spec, count, seed);
    out.description = "countdown problems, " + std::to_string(spec.numbers) + " numbers, " +
                      (spec.split == tasks::CountdownSplit::kHeldOut ? "held-out" : "in-distribution") + " targets";
  }
  return out;
}

}  // namespace stepwise::cli
