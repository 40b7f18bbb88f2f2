// Regex pre-tokenization of the byte-level BPE tokenizer (internal to core/bpe_*.cpp): a PCRE2 pattern compiled
// once (UTF + UCP so \p{L}, \p{N} and \s follow Unicode; JIT when available), the walk over its matches that
// the reference library does, and the five Split behaviors. Knows nothing about vocabularies or merges.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/bpe_unicode.h"

namespace stepwise::bpe {

// What a ByteLevel pre-tokenizer with use_regex splits on: GPT-2's pattern, as the reference library uses it.
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
// Per-call match state; a compiled Regex is shared read-only between threads.
using MatchData = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;
MatchData make_match_data();

class Regex {
 public:
  // `where` prefixes compile errors. `literal` matches the pattern text as is.
  Regex(const std::string& pattern, bool literal, const std::string& where);
  // Leftmost match at or after `start` in valid UTF-8 `subject`; false when there is none.
  bool find(std::string_view subject, size_t start, pcre2_match_data* data, size_t* match_start,
            size_t* match_end) const;

 private:
  struct CodeDeleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
  };
  std::unique_ptr<pcre2_code, CodeDeleter> code_;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// One pre-tokenizer step: optionally prefix a space (ByteLevel add_prefix_space), then optionally split.
struct PreTokenizerStep {
  std::unique_ptr<Regex> regex;  // null: no split
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool add_prefix_space = false;
};

struct Piece {
  size_t start;
  size_t end;
  bool is_match;
};

// Walks the matches of `regex` in `text` as the reference library lists them: gaps and matches covering the
// text in order, each passed to emit(start, end, is_match), with Oniguruma's rule for empty matches (none right
// after the previous match; after one the search moves on by a character).
template <typename Emit>
void for_each_piece(const Regex& regex, std::string_view text, pcre2_match_data* data, const Emit& emit) {
  size_t pos = 0;
  size_t previous_end = 0;
  bool have_previous = false;
  while (pos <= text.size()) {
    size_t start = 0, end = 0;
    if (!regex.find(text, pos, data, &start, &end)) break;
    const bool empty = start == end;
    if (!(empty && have_previous && start == previous_end)) {
      if (start > previous_end) emit(previous_end, start, false);
      emit(start, end, true);
      previous_end = end;
      have_previous = true;
    }
    if (!empty) {
      pos = end;
    } else if (start < text.size()) {
      size_t length = 0;
      code_point_at(text, start, &length);
      pos = start + length;
    } else {
      break;
    }
  }
  if (previous_end < text.size()) emit(previous_end, text.size(), false);
}

// Applies a Split behavior (and `invert`) to gap/match pieces, leaving the pieces to keep.
void apply_behavior(SplitBehavior behavior, bool invert, std::vector<Piece>& pieces);

}  // namespace stepwise::bpe
