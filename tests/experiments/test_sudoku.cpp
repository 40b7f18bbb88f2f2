// Sudoku grid text forms, the bitmask solver and the unique-solution generator: known puzzles,
// the 288 complete 4x4 grids, exact givens, uniqueness and determinism by seed.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "experiments/tasks/sudoku_generator.h"
#include "experiments/tasks/sudoku_grid.h"
#include "experiments/tasks/sudoku_solver.h"

namespace stepwise::tasks {
namespace {

// Dream's first sudoku_4x4_4.jsonl line; the solution checked by hand: rows, columns and the four
// 2x2 boxes each hold 1..4, and the givens 1 (r0c0), 2 (r1c3), 4 (r2c0), 3 (r2c3) are kept.
constexpr char kPuzzle4[] = "1000\n0002\n4003\n0000";
constexpr char kSolution4[] = "1234\n3412\n4123\n2341";

// The well-known example puzzle of the Wikipedia "Sudoku" article and its unique solution.
constexpr char kPuzzle9[] = "530070000600195000098000060800060003400803001700020006060000280000419005000080079";
constexpr char kSolution9[] = "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

SudokuGrid grid(const std::string& text) {
  auto parsed = parse_sudoku_grid(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(SudokuGrid{});
}

TEST(SudokuGrid, ParsesDreamLayoutAndFlatDigits) {
  const SudokuGrid lines = grid(kPuzzle4);
  EXPECT_EQ(lines.size, 4);
  EXPECT_EQ(lines.cells, (std::vector<int>{1, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 3, 0, 0, 0, 0}));
  EXPECT_EQ(grid("1000000240030000").cells, lines.cells);
  EXPECT_EQ(lines.at(2, 3), 3);
  EXPECT_EQ(count_givens(lines), 4);
  EXPECT_EQ(grid(kPuzzle9).size, 9);
  EXPECT_EQ(count_givens(grid(kPuzzle9)), 30);
}

TEST(SudokuGrid, RejectsWrongLengthsAndCharacters) {
  EXPECT_FALSE(parse_sudoku_grid("").has_value());
  EXPECT_FALSE(parse_sudoku_grid("123412341234123").has_value());    // 15 digits
  EXPECT_FALSE(parse_sudoku_grid("12341234123412341").has_value());  // 17 digits
  EXPECT_FALSE(parse_sudoku_grid("1234\n3412\n4123\n234x").has_value());
  EXPECT_FALSE(parse_sudoku_grid("1,2,3,4").has_value());
}

TEST(SudokuGrid, FormatsBothLayouts) {
  EXPECT_EQ(format_sudoku_grid(grid(kSolution4), GridLayout::kLines), kSolution4);
  EXPECT_EQ(format_sudoku_grid(grid(kSolution4), GridLayout::kFlat), "1234341241232341");
  EXPECT_EQ(format_sudoku_grid(grid(kSolution9), GridLayout::kFlat), kSolution9);
  EXPECT_EQ(default_grid_layout(4), GridLayout::kLines);
  EXPECT_EQ(default_grid_layout(9), GridLayout::kFlat);
}

TEST(SudokuGrid, ChecksUnits) {
  EXPECT_TRUE(is_complete_solution(grid(kSolution4)));
  EXPECT_TRUE(is_complete_solution(grid(kSolution9)));
  EXPECT_FALSE(is_complete_solution(grid(kPuzzle4)));  // blanks
  EXPECT_TRUE(is_consistent(grid(kPuzzle4)));
  EXPECT_FALSE(is_consistent(grid("1100\n0000\n0000\n0000")));  // two 1s in row 0
  EXPECT_FALSE(is_consistent(grid("1000\n1000\n0000\n0000")));  // two 1s in column 0 (and box 0)
  EXPECT_FALSE(is_consistent(grid("5000\n0000\n0000\n0000")));  // 5 does not fit a 4x4 grid
  EXPECT_TRUE(keeps_givens(grid(kPuzzle4), grid(kSolution4)));
  EXPECT_FALSE(keeps_givens(grid(kPuzzle4), grid("2134\n3412\n4123\n2341")));
}

TEST(SudokuSolver, SolvesAndCountsKnownPuzzles) {
  EXPECT_EQ(count_sudoku_solutions(grid(kPuzzle4), 2), 1);
  auto solved4 = solve_sudoku(grid(kPuzzle4));
  ASSERT_TRUE(solved4.has_value());
  EXPECT_EQ(format_sudoku_grid(*solved4, GridLayout::kLines), kSolution4);

  EXPECT_EQ(count_sudoku_solutions(grid(kPuzzle9), 2), 1);
  auto solved9 = solve_sudoku(grid(kPuzzle9));
  ASSERT_TRUE(solved9.has_value());
  EXPECT_EQ(format_sudoku_grid(*solved9, GridLayout::kFlat), kSolution9);
}

TEST(SudokuSolver, CountsAllFourByFourGrids) {
  // There are exactly 288 complete 4x4 Sudoku grids.
  EXPECT_EQ(count_sudoku_solutions(empty_sudoku_grid(4), 1000), 288);
  EXPECT_EQ(count_sudoku_solutions(empty_sudoku_grid(4), 2), 2);  // counting stops at the limit
}

TEST(SudokuSolver, ClashingGivensHaveNoSolution) {
  EXPECT_EQ(count_sudoku_solutions(grid("1100\n0000\n0000\n0000"), 2), 0);
  EXPECT_FALSE(solve_sudoku(grid("1100\n0000\n0000\n0000")).has_value());
  // Consistent givens with no completion: row 0 needs a 4 at r0c3 but column 3 already has one.
  EXPECT_EQ(count_sudoku_solutions(grid("1230\n0004\n0000\n0000"), 2), 0);
}

void expect_well_formed(const std::vector<TaskRecord>& records, const SudokuSpec& spec) {
  for (const auto& record : records) {
    const SudokuGrid puzzle = grid(record.input);
    const SudokuGrid solution = grid(record.output);
    EXPECT_EQ(puzzle.size, spec.size);
    EXPECT_EQ(count_givens(puzzle), spec.givens) << record.input;
    EXPECT_EQ(count_sudoku_solutions(puzzle, 2), 1) << record.input;
    EXPECT_TRUE(is_complete_solution(solution)) << record.output;
    EXPECT_TRUE(keeps_givens(puzzle, solution));
    const size_t expected_chars = spec.size == 4 ? 19 : 81;  // 4 lines of 4 + 3 newlines, or 81 digits
    EXPECT_EQ(record.input.size(), expected_chars);
    EXPECT_EQ(record.output.size(), expected_chars);
  }
}

TEST(SudokuGenerator, FourByFourUniqueWithExactGivens) {
  for (int givens = 4; givens <= 12; ++givens) {
    const SudokuSpec spec{4, givens};
    expect_well_formed(generate_sudoku_records(spec, 30, 11), spec);
  }
}

TEST(SudokuGenerator, NineByNineUniqueWithExactGivens) {
  for (int givens : {24, 30, 40}) {
    const SudokuSpec spec{9, givens};
    expect_well_formed(generate_sudoku_records(spec, 5, 3), spec);
  }
}

TEST(SudokuGenerator, DeterministicBySeed) {
  const SudokuSpec spec{4, 8};
  EXPECT_EQ(generate_sudoku_records(spec, 20, 5), generate_sudoku_records(spec, 20, 5));
  EXPECT_NE(generate_sudoku_records(spec, 20, 5), generate_sudoku_records(spec, 20, 6));
  const SudokuSpec big{9, 30};
  EXPECT_EQ(generate_sudoku_records(big, 3, 5), generate_sudoku_records(big, 3, 5));
  EXPECT_NE(generate_sudoku_records(big, 3, 5), generate_sudoku_records(big, 3, 6));
  // A shorter run is a prefix of a longer one.
  const auto long_run = generate_sudoku_records(spec, 20, 5);
  const auto short_run = generate_sudoku_records(spec, 7, 5);
  EXPECT_TRUE(std::equal(short_run.begin(), short_run.end(), long_run.begin()));
}

TEST(SudokuGenerator, PuzzlesVary) {
  std::set<std::string> distinct;
  for (const auto& record : generate_sudoku_records({4, 6}, 50, 1)) distinct.insert(record.input);
  EXPECT_GT(distinct.size(), 40u);
}

TEST(SudokuGenerator, RejectsBadSpecs) {
  EXPECT_THROW(generate_sudoku_records({4, 3}, 1, 0), Error);   // below the 4x4 minimum of 4
  EXPECT_THROW(generate_sudoku_records({4, 17}, 1, 0), Error);  // more than 16 cells
  EXPECT_THROW(generate_sudoku_records({9, 16}, 1, 0), Error);  // below the 9x9 minimum of 17
  EXPECT_THROW(generate_sudoku_records({5, 10}, 1, 0), Error);
  EXPECT_THROW(generate_sudoku_records({4, 10}, -1, 0), Error);
  EXPECT_EQ(default_sudoku_givens(4), 10);
  EXPECT_EQ(default_sudoku_givens(9), 30);
}

}  // namespace
}  // namespace stepwise::tasks
