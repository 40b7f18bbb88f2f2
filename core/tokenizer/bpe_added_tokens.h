// Added tokens of a tokenizer.json (special tokens such as <|im_start|> and plain added ones such as <think>)
// and how they are found in text before any other processing (internal to core/bpe_*.cpp): leftmost match,
// longest first, with the reference library's single_word / lstrip / rstrip rules.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepwise::bpe {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;      // dropped by decode(skip_special)
  bool single_word = false;  // only matches when not inside a word
  bool lstrip = false;       // swallows the whitespace before it
  bool rstrip = false;       // swallows the whitespace after it
  bool normalized = false;   // matched on normalized text instead of the raw text
};

// A piece of text: either an added token (id >= 0) or text between added tokens (id < 0).
struct Segment {
  std::string_view text;
  int32_t id;
};

// A byte trie over the token patterns: added vocabularies are small, and only positions whose byte can start
// a pattern are tried.
class AddedTokenMatcher {
 public:
  // `pattern` is what to look for (the content, normalized for normalized tokens); `token` must outlive this.
  void add(const std::string& pattern, const AddedToken* token);
  bool empty() const { return nodes_.empty(); }
  // Cuts `text` (valid UTF-8) into segments covering it in order; text segments are never empty.
  void split(std::string_view text, std::vector<Segment>& segments) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;
    const AddedToken* token = nullptr;
  };
  int32_t child_of(int32_t node, uint8_t byte) const;
  const AddedToken* longest_at(std::string_view text, size_t pos, size_t* length) const;

  std::vector<Node> nodes_;
  std::array<bool, 256> first_bytes_{};
};

}  // namespace stepwise::bpe
