// String helpers of chat templates in Python's terms: whitespace as str.isspace() sees it, strip with
// and without a character set, and the case methods (ASCII letters only). Internal to
// core/tokenizer/chat_template*.cpp.
#pragma once

#include <optional>
#include <string>

namespace stepwise::chat_template {

// Whether one UTF-8 character is whitespace for Python (ASCII spaces, \x1c-\x1f, U+0085, U+00A0,
// U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
bool is_python_space(const std::string& character);

// str.strip / lstrip / rstrip: whitespace, or the characters of `chars`.
std::string strip_text(const std::string& text, const std::optional<std::string>& chars, bool left, bool right);

// upper, lower, title or capitalize (Jinja's filters and Python's methods agree on ASCII text).
std::string change_case(const std::string& text, const std::string& how);

}  // namespace stepwise::chat_template
