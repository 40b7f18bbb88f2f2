// PCRE2 regexes and Split behaviors for the byte-level BPE pre-tokenizer.
#include "core/tokenizer/bpe_pre_tokenizer.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace stepwise::bpe {
namespace {

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  pcre2_get_error_message(code, buffer.data(), buffer.size());
  return reinterpret_cast<const char*>(buffer.data());
}

}  // namespace

MatchData make_match_data() {
  // One ovector pair is enough: only the whole match is read (pcre2_match returns 0 when groups don't fit).
  MatchData data(pcre2_match_data_create(1, nullptr));
  check(data != nullptr, "out of memory creating regex match data");
  return data;
}

Regex::Regex(const std::string& pattern, bool literal, const std::string& where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);  // PCRE2 rejects LITERAL + UCP
  code_.reset(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset, nullptr));
  if (!code_) fail(where, ": cannot compile regex at offset ", offset, ": ", pcre2_message(error));
  pcre2_jit_compile(code_.get(), PCRE2_JIT_COMPLETE);  // without JIT the interpreter runs the same pattern
}

bool Regex::find(std::string_view subject, size_t start, pcre2_match_data* data, size_t* match_start,
                 size_t* match_end) const {
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  // The caller validated the UTF-8 once; checking it again on every call would make a scan quadratic.
  int rc = pcre2_match(code_.get(), text, subject.size(), start, PCRE2_NO_UTF_CHECK, data, nullptr);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    rc = pcre2_match(code_.get(), text, subject.size(), start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, data, nullptr);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) fail("pre-tokenizer regex failed: ", pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  *match_start = ovector[0];
  *match_end = ovector[1];
  return true;
}

void apply_behavior(SplitBehavior behavior, bool invert, std::vector<Piece>& pieces) {
  if (invert) {
    for (Piece& piece : pieces) piece.is_match = !piece.is_match;
  }
  if (behavior == SplitBehavior::kIsolated) return;
  std::vector<Piece> kept;
  kept.reserve(pieces.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      break;
    case SplitBehavior::kRemoved:
      for (const Piece& piece : pieces) {
        if (!piece.is_match) kept.push_back(piece);
      }
      break;
    case SplitBehavior::kContiguous:
      for (const Piece& piece : pieces) {
        if (!kept.empty() && piece.is_match == previous_match) {
          kept.back().end = piece.end;
        } else {
          kept.push_back(piece);
        }
        previous_match = piece.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Piece& piece : pieces) {
        if (!kept.empty() && piece.is_match && !previous_match) {
          kept.back().end = piece.end;
        } else {
          kept.push_back(piece);
        }
        previous_match = piece.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (!kept.empty() && it->is_match && !previous_match) {
          kept.back().start = it->start;
        } else {
          kept.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
  }
  pieces.swap(kept);
}

}  // namespace stepwise::bpe
