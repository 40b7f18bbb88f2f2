// Lexer of the chat-template subset of Jinja. Whitespace handling is Jinja's with the settings Hugging
// Face renders chat templates with: newlines normalized to "\n" and one trailing newline dropped;
// `{%-` / `-%}` (and the {{ }} / {# #} forms) strip all whitespace before / after the tag;
// trim_blocks drops the first newline after a block or comment tag; lstrip_blocks drops the spaces and
// tabs between the start of a line and a block or comment tag (`{%+` keeps them, `+%}` keeps the newline).
#include <cctype>
#include <cstring>
#include <string_view>

#include "core/error.h"
#include "core/tokenizer/chat_template_syntax.h"

namespace stepwise::chat_template {

void fail_at(const std::string& where, SourcePos pos, const std::string& message) {
  fail(where, ":", pos.line, ":", pos.column, ": ", message);
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string rstrip_whitespace(std::string text) {
  while (!text.empty() && is_space(text.back())) text.pop_back();
  return text;
}

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& where) : where_(where) {
    // Jinja splits the source at \r\n, \r and \n, rejoins with \n, and drops one trailing newline.
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t i = 0;
    bool line_starting = true;
    while (i < src_.size()) {
      const size_t tag = find_tag(i);
      std::string text = src_.substr(i, tag - i);
      if (tag == src_.size()) {
        push_text(std::move(text), i);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      size_t k = tag + 2;
      const char sign = k < src_.size() && (src_[k] == '-' || (src_[k] == '+' && kind != '{')) ? src_[k] : '\0';
      if (sign == '-') {
        text = rstrip_whitespace(std::move(text));
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: only spaces and tabs between the line start and the tag.
        const size_t newline = text.rfind('\n');
        const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
        if (line_start > 0 || line_starting) {
          bool blank = line_start < text.size();
          for (size_t j = line_start; j < text.size(); ++j) blank = blank && is_space(text[j]);
          if (blank) text.resize(line_start);
        }
      }
      push_text(std::move(text), i);
      if (sign != '\0') ++k;
      if (kind == '#') {
        i = skip_comment(tag, k);
      } else {
        i = lex_tag(tag, k, kind == '%');
      }
      line_starting = i > 0 && src_[i - 1] == '\n';
    }
    tokens_.push_back(Token{Token::Kind::kEnd, "", 0, 0.0, position(src_.size())});
    return std::move(tokens_);
  }

 private:
  SourcePos position(size_t offset) const {
    size_t line = 0;
    size_t lo = 0, hi = line_starts_.size();
    while (lo + 1 < hi) {
      const size_t mid = (lo + hi) / 2;
      if (line_starts_[mid] <= offset) lo = mid;
      else hi = mid;
    }
    line = lo;
    return SourcePos{static_cast<int>(line + 1), static_cast<int>(offset - line_starts_[line] + 1)};
  }

  [[noreturn]] void error(size_t offset, const std::string& message) const {
    fail_at(where_, position(offset), message);
  }

  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return src_.size();
  }

  void push_text(std::string text, size_t offset) {
    if (!text.empty()) tokens_.push_back(Token{Token::Kind::kText, std::move(text), 0, 0.0, position(offset)});
  }

  // After the closing of a tag at `end` (one past it): whitespace control and trim_blocks.
  size_t after_close(size_t end, char sign, bool trims) const {
    if (sign == '-') {
      while (end < src_.size() && is_space(src_[end])) ++end;
    } else if (sign != '+' && trims && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    return end;
  }

  size_t skip_comment(size_t open, size_t from) const {
    const size_t close = src_.find("#}", from);
    if (close == std::string::npos) error(open, "comment '{#' is never closed with '#}'");
    const char sign = close > from && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : '\0';
    return after_close(close + 2, sign, true);
  }

  // Tokens of one {% ... %} or {{ ... }} tag; returns the offset after it.
  size_t lex_tag(size_t open, size_t i, bool block) {
    tokens_.push_back(Token{block ? Token::Kind::kBlockBegin : Token::Kind::kOutputBegin, block ? "{%" : "{{", 0, 0.0,
                            position(open)});
    int depth = 0;
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size()) error(open, std::string("tag '") + (block ? "{%" : "{{") + "' is never closed");
      const std::string_view rest(src_.data() + i, src_.size() - i);
      if (depth == 0) {
        const char* close = block ? "%}" : "}}";
        char sign = '\0';
        size_t length = 0;
        if (rest.substr(0, 2) == close) {
          length = 2;
        } else if ((rest[0] == '-' || (block && rest[0] == '+')) && rest.substr(1, 2) == close) {
          sign = rest[0];
          length = 3;
        }
        if (length > 0) {
          tokens_.push_back(Token{block ? Token::Kind::kBlockEnd : Token::Kind::kOutputEnd, close, 0, 0.0, position(i)});
          return after_close(i + length, sign, block);
        }
      }
      const char c = src_[i];
      const SourcePos pos = position(i);
      if (is_name_start(c)) {
        size_t j = i;
        while (j < src_.size() && is_name_char(src_[j])) ++j;
        tokens_.push_back(Token{Token::Kind::kName, src_.substr(i, j - i), 0, 0.0, pos});
        i = j;
      } else if (is_digit(c)) {
        i = lex_number(i);
      } else if (c == '\'' || c == '"') {
        i = lex_string(i);
      } else {
        static const char* const kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* two : kTwo)
          if (rest.substr(0, 2) == two) op = two;
        if (op.empty() && std::strchr("+-*/%~<>=.,:|()[]{}", c) != nullptr) op = std::string(1, c);
        if (op.empty()) error(i, std::string("unexpected character '") + c + "' in a tag");
        if (op == "(" || op == "[" || op == "{") ++depth;
        if (op == ")" || op == "]" || op == "}") {
          if (depth == 0) error(i, "'" + op + "' closes nothing");
          --depth;
        }
        tokens_.push_back(Token{Token::Kind::kOperator, op, 0, 0.0, pos});
        i += op.size();
      }
    }
  }

  size_t lex_number(size_t i) {
    const SourcePos pos = position(i);
    const bool after_dot = !tokens_.empty() && tokens_.back().kind == Token::Kind::kOperator && tokens_.back().text == ".";
    auto digits = [&](size_t j) {
      while (j < src_.size() && (is_digit(src_[j]) || (src_[j] == '_' && j + 1 < src_.size() && is_digit(src_[j + 1]))))
        ++j;
      return j;
    };
    size_t j = digits(i);
    bool is_float = false;
    if (!after_dot && j + 1 < src_.size() && src_[j] == '.' && is_digit(src_[j + 1])) {
      j = digits(j + 1);
      is_float = true;
    }
    if (!after_dot && j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      size_t e = j + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && is_digit(src_[e])) {
        j = digits(e);
        is_float = true;
      }
    }
    std::string text;
    for (size_t k = i; k < j; ++k)
      if (src_[k] != '_') text += src_[k];
    Token token{is_float ? Token::Kind::kFloat : Token::Kind::kInteger, text, 0, 0.0, pos};
    try {
      if (is_float) token.number = std::stod(text);
      else token.integer = std::stoll(text);
    } catch (const std::exception&) {
      error(i, "number '" + text + "' is out of range");
    }
    tokens_.push_back(std::move(token));
    return j;
  }

  // A quoted string with Python's escapes (\n \t \r \\ \' \" \xhh \uhhhh \Uhhhhhhhh ...); an unknown
  // escape keeps its backslash, as Python does.
  size_t lex_string(size_t i) {
    const char quote = src_[i];
    const SourcePos pos = position(i);
    std::string value;
    size_t j = i + 1;
    while (true) {
      if (j >= src_.size()) error(i, "string is never closed");
      const char c = src_[j];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++j;
        continue;
      }
      if (j + 1 >= src_.size()) error(i, "string is never closed");
      const char e = src_[j + 1];
      j += 2;
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case 'a': value += '\a'; break;
        case '0': value += '\0'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;  // a backslash-newline continues the line
        case 'x':
        case 'u':
        case 'U': {
          const size_t count = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (j + count > src_.size()) error(j - 2, std::string("truncated \\") + e + " escape");
          uint32_t code = 0;
          for (size_t k = 0; k < count; ++k) {
            const char h = src_[j + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) error(j - 2, std::string("bad \\") + e + " escape");
            code = code * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                                                : (std::tolower(h) - 'a' + 10));
          }
          if (code > 0x10FFFF) error(j - 2, "escape beyond U+10FFFF");
          append_utf8(value, code);
          j += count;
          break;
        }
        default:
          value += '\\';
          value += e;
      }
    }
    tokens_.push_back(Token{Token::Kind::kString, std::move(value), 0, 0.0, pos});
    return j + 1;
  }

  const std::string& where_;
  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize_template(const std::string& source, const std::string& where) {
  return Lexer(source, where).run();
}

}  // namespace stepwise::chat_template
