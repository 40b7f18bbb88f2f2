// Plain source [SEP] target [EOS] encoding on the character vocabulary, and decoding of
// generated ids back to prediction text.
#include "experiments/tasks/plain_format.h"

#include "core/error.h"
#include "experiments/tasks/sudoku_grid.h"
#include "experiments/tasks/sudoku_scorers.h"

namespace stepwise::tasks {
namespace {

std::vector<int64_t> encode_checked(const std::string& text, const CharTokenizer& tokenizer, const char* what) {
  const std::string plain = plain_text(text);
  std::vector<int64_t> ids = tokenizer.encode(plain);
  for (size_t i = 0; i < ids.size(); ++i)
    check(ids[i] != CharTokenizer::kUnk, "the ", what, " '", plain, "' has character '", plain.substr(i, 1),
          "' at position ", i, ", outside the character vocabulary");
  return ids;
}

}  // namespace

std::string plain_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text)
    if (c != '\n' && c != '\r') out += c;
  return out;
}

std::vector<int64_t> encode_plain_source(const std::string& input, const CharTokenizer& tokenizer) {
  std::vector<int64_t> ids = encode_checked(input, tokenizer, "input");
  ids.push_back(CharTokenizer::kSep);
  return ids;
}

PlainEncoding encode_plain(const TaskRecord& record, const CharTokenizer& tokenizer) {
  PlainEncoding encoding{encode_plain_source(record.input, tokenizer),
                         encode_checked(record.output, tokenizer, "output")};
  encoding.target_ids.push_back(CharTokenizer::kEos);
  return encoding;
}

std::string decode_plain(const std::vector<int64_t>& generated, const CharTokenizer& tokenizer) {
  std::vector<int64_t> kept;
  for (int64_t id : generated) {
    if (id == CharTokenizer::kEos || id == CharTokenizer::kPad) break;
    kept.push_back(id);
  }
  return tokenizer.decode(kept, /*skip_special=*/false);
}

std::string restore_answer_layout(TaskKind kind, const std::string& input, const std::string& prediction) {
  if (kind != TaskKind::kSudoku) return prediction;
  auto puzzle = parse_sudoku_grid(input);
  check(puzzle.has_value(), "malformed Sudoku puzzle '", input, "' (expected 16 or 81 digits)");
  return sudoku_lines_layout(prediction, puzzle->size);
}

}  // namespace stepwise::tasks
