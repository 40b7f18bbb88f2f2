// The plain sequence format of models trained here on the character vocabulary ("Beyond
// Autoregression"): source [SEP] target [EOS]. Line breaks are dropped from the record texts, so a
// 4x4 Sudoku becomes 16 digits; Countdown text ("86,28,13,31,96" / "86+28=114,...") is used as is.
// Decoded answers go through one named step before scoring, restore_answer_layout (the published
// metrics themselves stay as published). Padding, batching and loss masks belong to the training code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "experiments/tasks/task_kind.h"
#include "experiments/tasks/task_record.h"

namespace stepwise::tasks {

struct PlainEncoding {
  std::vector<int64_t> source_ids;  // source characters, then [SEP]
  std::vector<int64_t> target_ids;  // target characters, then [EOS]
};

// The record text with '\n' and '\r' removed.
std::string plain_text(const std::string& text);

// Throws stepwise::Error naming the character when a text holds one outside the vocabulary.
std::vector<int64_t> encode_plain_source(const std::string& input, const CharTokenizer& tokenizer);
PlainEncoding encode_plain(const TaskRecord& record, const CharTokenizer& tokenizer);

// Generated target ids to prediction text: stops before the first [EOS] or [PAD]. Any other special
// token ([SEP], [MASK], [UNK]) or out-of-range id is rendered as text ("[MASK]", "[UNK]"), which makes
// the prediction malformed for every scorer instead of silently shortening it.
std::string decode_plain(const std::vector<int64_t>& generated, const CharTokenizer& tokenizer);

// The plain format's layout step, run after decode_plain and before scoring: a Sudoku answer written
// without line breaks (16 or 81 digits) is cut into lines of the puzzle's side, the layout Dream's
// check (sudoku_valid) reads; answers of other tasks, and Sudoku text that has a line break, are
// returned unchanged.
std::string restore_answer_layout(TaskKind kind, const std::string& input, const std::string& prediction);

}  // namespace stepwise::tasks
