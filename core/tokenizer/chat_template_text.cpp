// Python's whitespace, strip and case rules for chat-template strings.
#include "core/tokenizer/chat_template_text.h"

#include <algorithm>
#include <vector>

#include "core/tokenizer/chat_template_value.h"

namespace stepwise::chat_template {

bool is_python_space(const std::string& c) {
  if (c.size() == 1) {
    const auto b = static_cast<unsigned char>(c[0]);
    return b == ' ' || (b >= 0x09 && b <= 0x0d) || (b >= 0x1c && b <= 0x1f);
  }
  static const char* const kSpaces[] = {"\u0085", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003",
                                        "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a",
                                        "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"};
  return std::any_of(std::begin(kSpaces), std::end(kSpaces), [&](const char* s) { return c == s; });
}

std::string strip_text(const std::string& text, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<std::string> characters = utf8_characters(text);
  std::vector<std::string> set;
  if (chars) set = utf8_characters(*chars);
  auto strippable = [&](const std::string& c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_python_space(c);
  };
  size_t begin = 0, end = characters.size();
  if (left)
    while (begin < end && strippable(characters[begin])) ++begin;
  if (right)
    while (end > begin && strippable(characters[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += characters[i];
  return out;
}

std::string change_case(const std::string& text, const std::string& how) {
  std::string out = text;
  auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (how == "upper") {
    std::transform(out.begin(), out.end(), out.begin(), upper);
  } else if (how == "lower") {
    std::transform(out.begin(), out.end(), out.begin(), lower);
  } else if (how == "capitalize") {
    std::transform(out.begin(), out.end(), out.begin(), lower);
    if (!out.empty()) out[0] = upper(out[0]);
  } else {  // title: a letter after a non-letter starts a word
    bool previous_letter = false;
    for (char& c : out) {
      c = previous_letter ? lower(c) : upper(c);
      previous_letter = letter(c);
    }
  }
  return out;
}

}  // namespace stepwise::chat_template
