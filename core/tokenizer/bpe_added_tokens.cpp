// Finding added tokens in text for the byte-level BPE tokenizer.
#include "core/tokenizer/bpe_added_tokens.h"

#include "core/tokenizer/bpe_unicode.h"

namespace stepwise::bpe {
namespace {

bool word_char_before(std::string_view text, size_t end) {
  size_t unused = 0;
  return is_word_char(code_point_at(text, previous_code_point_start(text, end), &unused));
}

bool word_char_at(std::string_view text, size_t start) {
  size_t unused = 0;
  return is_word_char(code_point_at(text, start, &unused));
}

}  // namespace

void AddedTokenMatcher::add(const std::string& pattern, const AddedToken* token) {
  if (pattern.empty()) return;
  if (nodes_.empty()) nodes_.emplace_back();
  int32_t node = 0;
  for (char c : pattern) {
    const auto byte = static_cast<uint8_t>(c);
    int32_t child = child_of(node, byte);
    if (child < 0) {
      child = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.emplace_back(byte, child);
      nodes_.emplace_back();
    }
    node = child;
  }
  nodes_[node].token = token;
  first_bytes_[static_cast<uint8_t>(pattern[0])] = true;
}

int32_t AddedTokenMatcher::child_of(int32_t node, uint8_t byte) const {
  for (const auto& [b, child] : nodes_[node].children) {
    if (b == byte) return child;
  }
  return -1;
}

const AddedToken* AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t* length) const {
  const AddedToken* best = nullptr;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child_of(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    if (nodes_[node].token != nullptr) {
      best = nodes_[node].token;
      *length = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>& segments) const {
  segments.clear();
  size_t emitted = 0;  // end of the last match
  size_t pos = 0;
  while (!empty() && pos < text.size()) {
    if (!first_bytes_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const AddedToken* token = longest_at(text, pos, &length);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + length;
    pos = stop;  // as in the reference, a rejected single_word match is not searched again for shorter ones
    if (token->single_word) {
      const bool alone_before = start == 0 || !word_char_before(text, start);
      const bool alone_after = stop == text.size() || !word_char_at(text, stop);
      if (!alone_before || !alone_after) continue;
    }
    if (token->lstrip) {
      while (start > emitted) {
        const size_t previous = previous_code_point_start(text, start);
        size_t unused = 0;
        if (!is_unicode_space(code_point_at(text, previous, &unused))) break;
        start = previous;
      }
    }
    if (token->rstrip) {
      size_t cp_length = 0;
      while (stop < text.size() && is_unicode_space(code_point_at(text, stop, &cp_length))) stop += cp_length;
      pos = stop;
    }
    if (start > emitted) segments.push_back({text.substr(emitted, start - emitted), -1});
    segments.push_back({text.substr(start, stop - start), token->id});
    emitted = stop;
  }
  if (emitted < text.size()) segments.push_back({text.substr(emitted), -1});
}

}  // namespace stepwise::bpe
