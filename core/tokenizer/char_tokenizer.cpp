// Character tokenizer of the synthetic tasks.
#include "core/tokenizer/tokenizer.h"

namespace stepwise {

CharTokenizer::CharTokenizer()
    : symbols_{"[PAD]", "[SEP]", "[MASK]", "[EOS]", "[UNK]", "0", "1", "2", "3", "4", "5", "6",
               "7",     "8",     "9",      "*",     "+",     "-", "/", "=", ",", "a", "b", "c",
               "d",     "e",     "f",      "g",     "h",     "i", "j",   "|"} {}

std::vector<int64_t> CharTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (char c : text) {
    auto id = token_id(std::string(1, c));
    ids.push_back(id.value_or(kUnk));
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string text;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      if (!skip_special) text += "[UNK]";
      continue;
    }
    if (id <= kUnk && skip_special) continue;
    text += symbols_[static_cast<size_t>(id)];
  }
  return text;
}

std::optional<int64_t> CharTokenizer::token_id(const std::string& token) const {
  for (size_t i = 0; i < symbols_.size(); ++i)
    if (symbols_[i] == token) return static_cast<int64_t>(i);
  return std::nullopt;
}

}  // namespace stepwise
