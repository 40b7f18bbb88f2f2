// Sudoku scorers: exact match with the solution, Dream's validity check reproduced on Python's string
// semantics (code points, str.strip, int() per character), and d1's cell count.
#include "experiments/tasks/sudoku_scorers.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <optional>
#include <set>
#include <vector>

#include "core/error.h"
#include "experiments/tasks/sudoku_grid.h"

namespace stepwise::tasks {
namespace {

using CodePoints = std::vector<UChar32>;

// UTF-8 -> code points; an ill-formed byte becomes U+FFFD (Python never sees one: JSON text is valid).
CodePoints code_points(const std::string& text) {
  CodePoints out;
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    out.push_back(c < 0 ? 0xFFFD : c);
  }
  return out;
}

// Python's str.isspace: bidirectional class WS, B or S, or general category Zs.
bool python_space(UChar32 c) {
  const UCharDirection direction = u_charDirection(c);
  return direction == U_WHITE_SPACE_NEUTRAL || direction == U_BLOCK_SEPARATOR ||
         direction == U_SEGMENT_SEPARATOR || u_charType(c) == U_SPACE_SEPARATOR;
}

CodePoints python_strip(const CodePoints& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && python_space(text[begin])) ++begin;
  while (end > begin && python_space(text[end - 1])) --end;
  return CodePoints(text.begin() + static_cast<std::ptrdiff_t>(begin), text.begin() + static_cast<std::ptrdiff_t>(end));
}

std::vector<CodePoints> split_lines(const CodePoints& text) {
  std::vector<CodePoints> lines(1);
  for (UChar32 c : text) {
    if (c == '\n')
      lines.emplace_back();
    else
      lines.back().push_back(c);
  }
  return lines;
}

// Python int() of one character: a Unicode decimal digit (category Nd) gives its value.
std::optional<int> digit_value(UChar32 c) {
  if (u_charType(c) != U_DECIMAL_DIGIT_NUMBER) return std::nullopt;
  return u_charDigitValue(c);
}

// np.array([list(map(int, row)) for row in text.strip().split('\n')]) as rows of digits; nullopt where
// Python raises (a non-digit) or numpy does not make a 2-D array (ragged lines).
std::optional<std::vector<std::vector<int>>> read_rows(const CodePoints& text) {
  std::vector<std::vector<int>> rows;
  for (const CodePoints& line : split_lines(python_strip(text))) {
    std::vector<int> row;
    for (UChar32 c : line) {
      auto value = digit_value(c);
      if (!value) return std::nullopt;
      row.push_back(*value);
    }
    if (!rows.empty() && row.size() != rows.front().size()) return std::nullopt;
    rows.push_back(std::move(row));
  }
  return rows;
}

// The puzzle in Dream's line layout (a flat 81-digit 9x9 puzzle as nine lines of nine), validated.
CodePoints puzzle_lines(const std::string& puzzle) {
  std::optional<SudokuGrid> grid = parse_sudoku_grid(puzzle);
  check(grid.has_value() && is_consistent(*grid), "malformed Sudoku puzzle '", puzzle,
        "' (expected 16 or 81 digits 0..N without a repeated digit in a row, column or box)");
  CodePoints text = code_points(puzzle);
  auto rows = read_rows(text);
  const bool lines = rows && static_cast<int>(rows->size()) == grid->size;
  return lines ? text : code_points(format_sudoku_grid(*grid, GridLayout::kLines));
}

bool holds_one_to_n(const std::vector<int>& values, int n) {
  std::set<int> seen(values.begin(), values.end());
  if (static_cast<int>(seen.size()) != n) return false;
  for (int digit = 1; digit <= n; ++digit)
    if (!seen.count(digit)) return false;
  return true;
}

std::string digits_only(const std::string& text, const char* what) {
  auto grid = parse_sudoku_grid(text);
  check(grid.has_value(), "malformed Sudoku ", what, " '", text, "' (expected 16 or 81 digits)");
  return format_sudoku_grid(*grid, GridLayout::kFlat);
}

}  // namespace

bool sudoku_exact_correct(const std::string& solution, const std::string& prediction) {
  auto reference = parse_sudoku_grid(solution);
  check(reference.has_value(), "malformed Sudoku solution '", solution, "' (expected 16 or 81 digits)");
  auto predicted = parse_sudoku_grid(prediction);
  return predicted.has_value() && predicted->size == reference->size && predicted->cells == reference->cells;
}

bool sudoku_valid_correct(const std::string& puzzle, const std::string& prediction) {
  const CodePoints input = puzzle_lines(puzzle);
  const std::vector<std::vector<int>> givens = *read_rows(input);
  const int n = static_cast<int>(givens.size());
  CodePoints cut = code_points(prediction);  // prediction[:len(input)]
  if (cut.size() > input.size()) cut.resize(input.size());
  auto grid = read_rows(cut);
  if (!grid || static_cast<int>(grid->size()) != n || static_cast<int>(grid->front().size()) != n) return false;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c)
      if (givens[r][c] != 0 && givens[r][c] != (*grid)[r][c]) return false;
  const int box = sudoku_box_size(n);
  for (int k = 0; k < n; ++k) {
    std::vector<int> row, column, square;
    for (int j = 0; j < n; ++j) {
      row.push_back((*grid)[k][j]);
      column.push_back((*grid)[j][k]);
      square.push_back((*grid)[(k / box) * box + j / box][(k % box) * box + j % box]);
    }
    if (!holds_one_to_n(row, n) || !holds_one_to_n(column, n) || !holds_one_to_n(square, n)) return false;
  }
  return true;
}

CellCount sudoku_cells_count(const std::string& puzzle, const std::string& solution, const std::string& prediction) {
  const std::string givens = digits_only(puzzle, "puzzle");
  const std::string truth = digits_only(solution, "solution");
  check(givens.size() == truth.size(), "Sudoku puzzle '", puzzle, "' and solution '", solution, "' differ in size");
  // re.sub(r"\s", "", answer), then padded with '0' or cut to N*N code points.
  CodePoints answer;
  for (UChar32 c : code_points(prediction))
    if (!python_space(c)) answer.push_back(c);
  CellCount count;
  if (answer.empty()) {
    for (char g : givens) count.blank += g == '0' ? 1 : 0;
    return count;
  }
  answer.resize(givens.size(), '0');
  for (size_t i = 0; i < givens.size(); ++i) {
    if (givens[i] != '0') continue;
    ++count.blank;
    if (answer[i] == static_cast<UChar32>(truth[i])) ++count.correct;
  }
  return count;
}

std::string sudoku_lines_layout(const std::string& prediction, int side) {
  check(side > 0, "sudoku_lines_layout: side must be positive");
  if (prediction.find('\n') != std::string::npos) return prediction;
  const CodePoints text = code_points(prediction);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && i % static_cast<size_t>(side) == 0) out += '\n';
    char buffer[4];
    int32_t length = 0;
    UBool error = false;
    U8_APPEND(reinterpret_cast<uint8_t*>(buffer), length, 4, text[i], error);
    out.append(error ? "\xEF\xBF\xBD" : std::string(buffer, static_cast<size_t>(length)));
  }
  return out;
}

}  // namespace stepwise::tasks
