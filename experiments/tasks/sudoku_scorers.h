// Sudoku scorers, each as published. A malformed prediction is incorrect (or scores no cell), never an
// exception; a malformed reference is a data error (stepwise::Error).
//   sudoku_exact  ("Beyond Autoregression"): the digits equal the reference solution; whitespace is
//                 ignored in both, so either grid layout reads back.
//   sudoku_valid  (Dream's eval/sudoku_metric.py is_valid_sudoku, item for item): the prediction is cut
//                 to the length of the puzzle text, stripped, split at '\n'; every line must read as
//                 digits (Python int() per character, so other Unicode decimal digits count) and the
//                 lines must form an N x N grid; the givens are kept; every row, column and box holds
//                 exactly 1..N. Dream's code is for 4x4; N = 9 (3x3 boxes) is the same check on nine
//                 lines of nine, and a 9x9 puzzle stored as 81 digits on one line is read as those nine
//                 lines. An answer without line breaks (the plain format's 16 or 81 digits) is invalid
//                 here: apply the separate layout step sudoku_lines_layout() first.
//   sudoku_cells  (d1's 4x4 cell accuracy, parse_sudoku_answers): whitespace removed, the answer padded
//                 with '0' or cut to N*N characters; credit = the puzzle's blank cells whose character
//                 equals the solution's; accuracy = correct cells / blank cells over the whole set.
//                 d1's answer-tag extraction belongs to its prompt and is not part of the metric.
#pragma once

#include <cstdint>
#include <string>

namespace stepwise::tasks {

bool sudoku_exact_correct(const std::string& solution, const std::string& prediction);

bool sudoku_valid_correct(const std::string& puzzle, const std::string& prediction);

struct CellCount {
  int64_t correct = 0;  // blank cells filled with the solution's digit
  int64_t blank = 0;    // blank cells of the puzzle
};
CellCount sudoku_cells_count(const std::string& puzzle, const std::string& solution, const std::string& prediction);

// The layout step between a plain-format model and Dream's check: a prediction without any '\n' is cut
// into lines of `side` characters (the last line may be shorter); any other text is returned as is.
std::string sudoku_lines_layout(const std::string& prediction, int side);

}  // namespace stepwise::tasks
