// The task metrics on hand-written valid, invalid and malformed answers (expected values derived by
// hand in the comments, Dream's and d1's behaviour read off their published code), the plain format's
// layout step, metric names and the accuracy summaries.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "experiments/tasks/countdown_scorers.h"
#include "experiments/tasks/metric.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/scoring.h"
#include "experiments/tasks/sudoku_scorers.h"

namespace stepwise::tasks {
namespace {

// ---- Countdown ----------------------------------------------------------------------------------

constexpr char kInput[] = "86,28,13,31,96";
constexpr char kGold[] = "86+28=114,31-13=18,114-18=96";

TEST(CountdownScorers, AcceptValidSolutions) {
  EXPECT_TRUE(countdown_equations_correct(kInput, kGold));
  EXPECT_TRUE(countdown_numbers_correct(kInput, kGold));
  // Another valid order and operand order for the same problem.
  EXPECT_TRUE(countdown_numbers_correct(kInput, "31-13=18,28+86=114,114-18=96"));
  // Exact division.
  EXPECT_TRUE(countdown_equations_correct("8,2,3,7", "8/2=4,4+3=7"));
  EXPECT_TRUE(countdown_numbers_correct("8,2,3,7", "8/2=4,4+3=7"));
}

TEST(CountdownScorers, RejectWrongArithmetic) {
  // 31-13 is 18, not 19; the last step then uses an 18 nobody produced.
  EXPECT_FALSE(countdown_equations_correct(kInput, "86+28=114,31-13=19,114-18=96"));
  EXPECT_FALSE(countdown_numbers_correct(kInput, "86+28=114,31-13=19,114-18=96"));
  // Arithmetic wrong in the final step although it names the target.
  EXPECT_FALSE(countdown_equations_correct(kInput, "86+28=114,31-13=18,114-17=96"));
}

TEST(CountdownScorers, RejectWrongFinalTarget) {
  EXPECT_FALSE(countdown_equations_correct(kInput, "86+28=114,31-13=18,114+18=132"));
  EXPECT_FALSE(countdown_numbers_correct(kInput, "86+28=114,31-13=18,114+18=132"));
  // Correct steps that reach the target early, then go on.
  EXPECT_FALSE(countdown_equations_correct("90,6,2,96", "90+6=96,96*2=192"));
}

TEST(CountdownScorers, RejectDivisionWithRemainder) {
  // 7/2 is 3.5: "3" is wrong under both metrics.
  EXPECT_FALSE(countdown_equations_correct("7,2,3,6", "7/2=3,3+3=6"));
  EXPECT_FALSE(countdown_numbers_correct("7,2,3,6", "7/2=3,3+3=6"));
  EXPECT_FALSE(countdown_equations_correct("7,0,7", "7/0=7"));
}

TEST(CountdownScorers, NumbersMetricChecksWhichNumbersAreUsed) {
  // Arithmetic right and the target hit, but 3 is not given and 28, 31 are never used.
  EXPECT_TRUE(countdown_equations_correct(kInput, "86+13=99,99-3=96"));
  EXPECT_FALSE(countdown_numbers_correct(kInput, "86+13=99,99-3=96"));
  // 4 used twice, 3 left out.
  EXPECT_TRUE(countdown_equations_correct("2,3,4,10", "4+4=8,8+2=10"));
  EXPECT_FALSE(countdown_numbers_correct("2,3,4,10", "4+4=8,8+2=10"));
  EXPECT_TRUE(countdown_numbers_correct("2,3,4,10", "2*3=6,6+4=10"));
  // One start number missing: 5+5 already makes 10, the 3 is never used.
  EXPECT_TRUE(countdown_equations_correct("5,5,3,10", "5+5=10"));
  EXPECT_FALSE(countdown_numbers_correct("5,5,3,10", "5+5=10"));
  // An intermediate result that is never used (9 is left over).
  EXPECT_FALSE(countdown_numbers_correct("4,5,2,8,16", "4+5=9,2*8=16"));
  // A repeated start number may be used as often as it is given.
  EXPECT_TRUE(countdown_numbers_correct("5,5,2,20", "5+5=10,10*2=20"));
}

TEST(CountdownScorers, NumbersMetricFollowsDreamOnStepOrder) {
  // Dream's cd_metric balances the multiset of numbers and does not check the order of the steps:
  // here the first step uses the 5 that the second step produces. Balance: {2,2,4,6} - {5,2} + {3}
  // - {3,2} + {5} - {4,6} + {24} - {24} is empty, and every step is correct arithmetic.
  EXPECT_TRUE(countdown_numbers_correct("2,2,4,6,24", "5-2=3,3+2=5,4*6=24"));
}

TEST(CountdownScorers, MalformedPredictionsAreIncorrectNotErrors) {
  for (const char* prediction : {"", "hello", "86+28=114,", ",86+28=114", "86+28=114;31-13=18",
                                 " 86+28=114,31-13=18,114-18=96", "86+28=114,31-13=18,114-18=96 ", "86 + 28 = 114",
                                 "[MASK][MASK]", "96", "=96", "86+28=114,31-13=18,114-18=96\n", "86+28+1=115"}) {
    EXPECT_FALSE(countdown_equations_correct(kInput, prediction)) << "'" << prediction << "'";
    EXPECT_FALSE(countdown_numbers_correct(kInput, prediction)) << "'" << prediction << "'";
  }
}

TEST(CountdownScorers, MalformedInputIsADataError) {
  EXPECT_THROW(countdown_equations_correct("", kGold), Error);
  EXPECT_THROW(countdown_numbers_correct("86;28;96", kGold), Error);
}

// ---- Sudoku -------------------------------------------------------------------------------------

constexpr char kPuzzle4[] = "1000\n0002\n4003\n0000";
constexpr char kSolution4[] = "1234\n3412\n4123\n2341";
constexpr char kEmpty4[] = "0000\n0000\n0000\n0000";
constexpr char kPuzzle9[] = "530070000600195000098000060800060003400803001700020006060000280000419005000080079";
constexpr char kSolution9[] = "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

std::string flat(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != '\n') out += c;
  return out;
}

// Swaps cells (r1, c1) and (r2, c2) of a flat grid of side n.
std::string swap_cells(std::string grid, int n, int r1, int c1, int r2, int c2) {
  std::swap(grid[static_cast<size_t>(r1 * n + c1)], grid[static_cast<size_t>(r2 * n + c2)]);
  return grid;
}

std::string swap_rows(std::string grid, int n, int a, int b) {
  for (int c = 0; c < n; ++c) grid = swap_cells(grid, n, a, c, b, c);
  return grid;
}

TEST(SudokuScorers, ExactMatchIgnoresLayout) {
  EXPECT_TRUE(sudoku_exact_correct(kSolution4, kSolution4));
  EXPECT_TRUE(sudoku_exact_correct(kSolution4, "1234341241232341"));
  EXPECT_TRUE(sudoku_exact_correct(kSolution4, "1234\r\n3412\r\n4123\r\n2341\n"));
  EXPECT_TRUE(sudoku_exact_correct("1234341241232341", kSolution4));
  EXPECT_TRUE(sudoku_exact_correct(kSolution9, kSolution9));
  EXPECT_FALSE(sudoku_exact_correct(kSolution4, "2143\n3412\n1234\n4321"));  // a valid grid, not this one
  EXPECT_FALSE(sudoku_exact_correct(kSolution9, std::string(kSolution9).substr(0, 80) + "8"));
}

// Nine lines of nine: the layout sudoku_valid reads a 9x9 answer in.
std::string lines9(const std::string& flat_grid) { return sudoku_lines_layout(flat_grid, 9); }

TEST(SudokuScorers, ValidAcceptsSolutions) {
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle4, kSolution4));
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle9, lines9(kSolution9)));
  EXPECT_TRUE(sudoku_valid_correct(lines9(kPuzzle9), lines9(kSolution9)));
  // "2143/3412/1234/4321" is a complete grid (checked by hand), so it is valid for an empty puzzle.
  EXPECT_TRUE(sudoku_valid_correct(kEmpty4, "2143\n3412\n1234\n4321"));
}

TEST(SudokuScorers, ValidRejectsBrokenRowColumnOrBoxFourByFour) {
  const std::string solution = flat(kSolution4);
  // Swap within row 0 and box 0: row and box keep their digits, columns 0 and 1 get duplicates.
  const std::string broken_columns = swap_cells(solution, 4, 0, 0, 0, 1);
  // Swap within column 0 and box 0: rows 0 and 1 get duplicates.
  const std::string broken_rows = swap_cells(solution, 4, 0, 0, 1, 0);
  // Swap rows 1 and 2 (different bands): rows and columns fine, box 0 holds 1,2,4,1.
  const std::string broken_boxes = swap_rows(solution, 4, 1, 2);
  EXPECT_EQ(broken_columns, "2134341241232341");
  EXPECT_EQ(broken_rows, "3234141241232341");
  EXPECT_EQ(broken_boxes, "1234412334122341");
  for (const auto& grid : {broken_columns, broken_rows, broken_boxes}) {
    EXPECT_FALSE(sudoku_valid_correct(kEmpty4, grid)) << grid;
    EXPECT_FALSE(sudoku_exact_correct(kSolution4, grid)) << grid;
  }
  // Latin square that is not a Sudoku: rows and columns fine, box 0 holds 1,2,2,3.
  EXPECT_FALSE(sudoku_valid_correct(kEmpty4, "1234\n2341\n3412\n4123"));
}

TEST(SudokuScorers, ValidRejectsBrokenRowColumnOrBoxNineByNine) {
  const std::string empty9(81, '0');
  const std::string solution = kSolution9;
  // Same three edits as for 4x4. Rows 0-3 of the solution are 534678912 / 672195348 / 198342567 /
  // 859761423: swapping r0c0, r0c1 puts 3 twice in column 0; swapping r0c0, r1c0 puts 6 twice in
  // row 0; swapping rows 2 and 3 puts 5 twice in box 0 (534 / 672 / 859).
  for (const auto& grid :
       {swap_cells(solution, 9, 0, 0, 0, 1), swap_cells(solution, 9, 0, 0, 1, 0), swap_rows(solution, 9, 2, 3)}) {
    EXPECT_FALSE(sudoku_valid_correct(empty9, lines9(grid))) << grid;
    EXPECT_FALSE(sudoku_exact_correct(kSolution9, grid)) << grid;
  }
  EXPECT_TRUE(sudoku_valid_correct(empty9, lines9(solution)));
}

TEST(SudokuScorers, ValidRejectsAlteredGivens) {
  // A complete grid that changes the given 1 at r0c0.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, "2143\n3412\n1234\n4321"));
  // Exchanging the digits 1 and 2 everywhere keeps a 9x9 grid complete but changes the givens 1 (r1c3)
  // and 2 (r5c4) of the puzzle.
  std::string relabeled = kSolution9;
  for (char& c : relabeled) c = c == '1' ? '2' : c == '2' ? '1' : c;
  EXPECT_TRUE(sudoku_valid_correct(std::string(81, '0'), lines9(relabeled)));
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle9, lines9(relabeled)));
}

TEST(SudokuScorers, MalformedPredictionsAreIncorrectNotErrors) {
  for (const char* prediction : {"", "garbage", "1234\n3412\n4123", "1234\n3412\n4123\n234x",
                                 "1[MASK]34\n3412\n4123\n2341", "1000\n0002\n4003\n0000", "5234\n3412\n4123\n2341",
                                 "1,2,3,4,3,4,1,2,4,1,2,3,2,3,4,1"}) {
    EXPECT_FALSE(sudoku_exact_correct(kSolution4, prediction)) << "'" << prediction << "'";
    EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, prediction)) << "'" << prediction << "'";
  }
  // Right digits, wrong size for the puzzle.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, kSolution9));
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle9, kSolution4));
}

TEST(SudokuScorers, ValidFollowsDreamItemForItem) {
  // Each case as Dream's is_valid_sudoku decides it (eval/sudoku_metric.py), by reading its code:
  // prediction[:len(input)], .strip(), .split('\n'), int() per character, shape (4, 4).
  // No line breaks: one row of 16 -> shape (1, 16) -> False. This is the plain format's answer.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, "1234341241232341"));
  // Cut to the 19 characters of the puzzle: the trailing 0 (or any text) is never read -> True.
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle4, "1234\n3412\n4123\n23410"));
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle4, "1234\n3412\n4123\n2341\n\nInput: more"));
  // Whitespace is stripped after the cut: a trailing space is cut off anyway, while a leading space or
  // newline pushes the last digit out of the 19 characters -> ragged rows -> False.
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle4, "1234\n3412\n4123\n2341 "));
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, " 1234\n3412\n4123\n2341"));
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, "\n1234\n3412\n4123\n2341"));
  // Four rows of four inside the cut, with a leading space on one row only: int(' ') raises -> False.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, "1234\n 3412\n4123\n2341"));
  // Carriage returns are characters of the row: int('\r') raises -> False.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, "1234\r\n3412\r\n4123\r\n2341"));
  // Spaces inside a row raise too.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, "12 34\n3412\n4123\n2341"));
  // Python int() reads any Unicode decimal digit: fullwidth U+FF11.. count as 1..4.
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle4, "\xef\xbc\x91" "234\n3412\n4123\n2341"));
  // A 9x9 answer as 81 digits on one line is one row: invalid until laid out in lines.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle9, kSolution9));
}

TEST(SudokuScorers, ValidAgreesWithDreamsOwnCodeOnAlteredAnswers) {
  // 540 altered answers to the 108 puzzles of Dream's sudoku_4x4_4.jsonl (one in five without line
  // breaks, others with trailing text, swapped cells, CRLF, surrounding spaces or fullwidth digits),
  // each labelled by running Dream's is_valid_sudoku (tests/fixtures/sudoku/make_dream_cases.py).
  std::ifstream in(std::string(STEPWISE_FIXTURES) + "/sudoku/dream_valid_cases.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int cases = 0, valid = 0;
  while (std::getline(in, line)) {
    const nlohmann::json item = nlohmann::json::parse(line);
    const std::string puzzle = item["input"], prediction = item["prediction"];
    const bool expected = item["dream_valid"];
    EXPECT_EQ(sudoku_valid_correct(puzzle, prediction), expected) << nlohmann::json(prediction).dump();
    ++cases;
    valid += expected ? 1 : 0;
  }
  EXPECT_EQ(cases, 540);
  EXPECT_EQ(valid, 288);
}

TEST(SudokuScorers, LayoutStepCutsPlainAnswersIntoGridLines) {
  EXPECT_EQ(sudoku_lines_layout("1234341241232341", 4), kSolution4);
  EXPECT_EQ(sudoku_lines_layout(kSolution4, 4), kSolution4);  // already in lines: unchanged
  EXPECT_EQ(sudoku_lines_layout("123456", 4), "1234\n56");
  EXPECT_EQ(restore_answer_layout(TaskKind::kSudoku, kPuzzle4, "1234341241232341"), kSolution4);
  EXPECT_EQ(restore_answer_layout(TaskKind::kSudoku, kPuzzle9, kSolution9), lines9(kSolution9));
  EXPECT_EQ(restore_answer_layout(TaskKind::kCountdown, kInput, kGold), kGold);
  EXPECT_TRUE(sudoku_valid_correct(kPuzzle4, restore_answer_layout(TaskKind::kSudoku, kPuzzle4, "1234341241232341")));
  // A plain answer of the wrong length stays invalid after the step.
  EXPECT_FALSE(sudoku_valid_correct(kPuzzle4, restore_answer_layout(TaskKind::kSudoku, kPuzzle4, "123434124123234")));
}

TEST(SudokuScorers, CellsCountBlankCellsAsD1Does) {
  // kPuzzle4 has 12 blanks (givens r0c0=1, r1c3=2, r2c0=4, r2c3=3).
  CellCount full = sudoku_cells_count(kPuzzle4, kSolution4, kSolution4);
  EXPECT_EQ(full.correct, 12);
  EXPECT_EQ(full.blank, 12);
  // Whitespace is removed first, so both layouts score the same.
  EXPECT_EQ(sudoku_cells_count(kPuzzle4, kSolution4, "1234341241232341").correct, 12);
  // One wrong blank (r0c1 2 -> 3): 11 of 12. Givens are not credited even when right.
  EXPECT_EQ(sudoku_cells_count(kPuzzle4, kSolution4, "1334341241232341").correct, 11);
  // Short answers are padded with '0' (never a digit of the solution): the first 8 cells hold 6 blanks,
  // all right here.
  EXPECT_EQ(sudoku_cells_count(kPuzzle4, kSolution4, "12343412").correct, 6);
  // Long answers are cut to 16 cells.
  EXPECT_EQ(sudoku_cells_count(kPuzzle4, kSolution4, "1234341241232341999").correct, 12);
  // Empty or garbage answers score no cell but their blanks still count.
  CellCount empty = sudoku_cells_count(kPuzzle4, kSolution4, "  \n");
  EXPECT_EQ(empty.correct, 0);
  EXPECT_EQ(empty.blank, 12);
  EXPECT_EQ(sudoku_cells_count(kPuzzle4, kSolution4, "[MASK][MASK]").correct, 0);
  // 9x9: kPuzzle9 has 51 blanks.
  EXPECT_EQ(sudoku_cells_count(kPuzzle9, kSolution9, lines9(kSolution9)).correct, 51);
  EXPECT_EQ(sudoku_cells_count(kPuzzle9, kSolution9, kSolution9).blank, 51);
  EXPECT_THROW(sudoku_cells_count(kPuzzle4, kSolution9, kSolution4), Error);  // sizes differ
}

TEST(SudokuScorers, MalformedReferenceIsADataError) {
  EXPECT_THROW(sudoku_exact_correct("12", kSolution4), Error);
  EXPECT_THROW(sudoku_valid_correct("not a grid", kSolution4), Error);
  EXPECT_THROW(sudoku_valid_correct("1100\n0000\n0000\n0000", kSolution4), Error);  // clashing givens
  EXPECT_THROW(sudoku_cells_count("not a grid", kSolution4, kSolution4), Error);
}

// ---- Metrics and summaries ----------------------------------------------------------------------

TEST(Metrics, NamesRoundTripAndBelongToTasks) {
  EXPECT_EQ(metric_name(Metric::kSudokuExact), "sudoku_exact");
  EXPECT_EQ(metric_name(Metric::kSudokuValid), "sudoku_valid");
  EXPECT_EQ(metric_name(Metric::kCountdownEquations), "countdown_equations");
  EXPECT_EQ(metric_name(Metric::kCountdownNumbers), "countdown_numbers");
  EXPECT_EQ(metric_name(Metric::kSudokuCells), "sudoku_cells");
  EXPECT_EQ(metric_name(Metric::kPathStarExact), "pathstar_exact");
  EXPECT_EQ(metric_task(Metric::kSudokuCells), TaskKind::kSudoku);
  EXPECT_EQ(metric_task(Metric::kPathStarExact), TaskKind::kPathStar);
  EXPECT_EQ(parse_task_kind("pathstar"), TaskKind::kPathStar);
  for (Metric metric : all_metrics()) EXPECT_EQ(parse_metric(metric_name(metric)), metric);
  EXPECT_EQ(metric_task(Metric::kSudokuValid), TaskKind::kSudoku);
  EXPECT_EQ(metric_task(Metric::kCountdownNumbers), TaskKind::kCountdown);
  EXPECT_THROW(parse_metric("accuracy"), Error);
  EXPECT_EQ(parse_task_kind("countdown"), TaskKind::kCountdown);
  EXPECT_THROW(parse_task_kind("chess"), Error);
}

TEST(Scoring, DispatchesAndSummarizes) {
  const std::vector<TaskRecord> records = {
      {kInput, kGold}, {"2,3,4,10", "2*3=6,6+4=10"}, {"5,5,3,10", "5*3=15,15-5=10"}};
  const std::vector<std::string> predictions = {kGold, "4+4=8,8+2=10", "garbage"};
  const ScoreSummary equations = score_predictions(Metric::kCountdownEquations, records, predictions);
  EXPECT_EQ(equations.n, 3);
  EXPECT_EQ(equations.correct, 2);
  const ScoreSummary numbers = score_predictions(Metric::kCountdownNumbers, records, predictions);
  EXPECT_EQ(numbers.correct, 1);
  EXPECT_DOUBLE_EQ(numbers.accuracy(), 1.0 / 3.0);
  EXPECT_EQ(numbers.to_json().dump(),
            R"({"metric":"countdown_numbers","n":3,"correct":1,"accuracy":0.3333333333333333})");
  EXPECT_THROW(score_predictions(Metric::kCountdownNumbers, records, {kGold}), Error);

  // sudoku_exact reads the record output, sudoku_valid the input.
  const TaskRecord sudoku{kPuzzle4, kSolution4};
  EXPECT_TRUE(score_prediction(Metric::kSudokuExact, sudoku, "1234341241232341"));
  EXPECT_TRUE(score_prediction(Metric::kSudokuValid, sudoku, kSolution4));
  EXPECT_FALSE(score_prediction(Metric::kSudokuValid, sudoku, "1234341241232341"));
  EXPECT_EQ(ScoreSummary{}.accuracy(), 0.0);

  // sudoku_cells sums cells over the set: (12 + 11) / (12 + 12).
  const ScoreSummary cells = score_predictions(Metric::kSudokuCells, {sudoku, sudoku}, {kSolution4, "1334341241232341"});
  EXPECT_EQ(cells.n, 2);
  EXPECT_EQ(cells.correct, 23);
  EXPECT_EQ(cells.total, 24);
  EXPECT_EQ(cells.to_json().dump(),
            R"({"metric":"sudoku_cells","n":2,"correct":23,"cells":24,"accuracy":0.9583333333333334})");
  EXPECT_THROW(score_prediction(Metric::kSudokuCells, sudoku, kSolution4), Error);
}

}  // namespace
}  // namespace stepwise::tasks
