// Template values: construction, JSON conversion, truth, equality and Python's spellings of them.
#include "core/tokenizer/chat_template_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace stepwise::chat_template {

const Value* Dict::find(const std::string& key) const {
  for (const auto& [name, value] : entries)
    if (name == key) return &value;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [name, existing] : entries) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* Arguments::get(size_t index, const std::string& name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [key, value] : keyword)
    if (key == name) return &value;
  return nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  v.undefined_hint = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::kNone;
  return v;
}
Value Value::from_bool(bool value) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = value;
  return v;
}
Value Value::from_int(int64_t value) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = value;
  return v;
}
Value Value::from_float(double value) {
  Value v;
  v.kind = Kind::kFloat;
  v.number = value;
  return v;
}
Value Value::from_string(std::string value) {
  Value v;
  v.kind = Kind::kString;
  v.text = std::move(value);
  return v;
}
Value Value::from_list(List items, bool tuple) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::make_shared<List>(std::move(items));
  v.is_tuple = tuple;
  return v;
}
Value Value::from_dict(std::shared_ptr<Dict> dict) {
  Value v;
  v.kind = Kind::kDict;
  v.dict = std::move(dict);
  return v;
}
Value Value::from_function(Function function) {
  Value v;
  v.kind = Kind::kCallable;
  v.function = std::make_shared<const Function>(std::move(function));
  return v;
}

std::string Value::type_name() const {
  switch (kind) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return is_tuple ? "tuple" : "list";
    case Kind::kDict: return dict->is_namespace ? "Namespace" : "dict";
    case Kind::kCallable: return "function";
  }
  return "?";
}

Value value_from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::from_bool(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::from_int(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto value = json.get<uint64_t>();
      if (value > static_cast<uint64_t>(INT64_MAX)) return Value::from_float(static_cast<double>(value));
      return Value::from_int(static_cast<int64_t>(value));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::from_float(json.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::from_string(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(value_from_json(item));
      return Value::from_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto dict = std::make_shared<Dict>();
      for (const auto& [key, item] : json.items()) dict->entries.emplace_back(key, value_from_json(item));
      return Value::from_dict(std::move(dict));
    }
    default: return Value::none();  // binary / discarded: not produced by the JSON parser
  }
}

bool truthy(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return false;
    case Value::Kind::kBool: return value.boolean;
    case Value::Kind::kInt: return value.integer != 0;
    case Value::Kind::kFloat: return value.number != 0.0;
    case Value::Kind::kString: return !value.text.empty();
    case Value::Kind::kList: return !value.list->empty();
    case Value::Kind::kDict: return !value.dict->entries.empty();
    case Value::Kind::kCallable: return true;
  }
  return false;
}

namespace {

double numeric(const Value& v) {
  if (v.kind == Value::Kind::kBool) return v.boolean ? 1.0 : 0.0;
  if (v.kind == Value::Kind::kInt) return static_cast<double>(v.integer);
  return v.number;
}

}  // namespace

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind != Value::Kind::kFloat && b.kind != Value::Kind::kFloat)
      return (a.kind == Value::Kind::kBool ? int64_t{a.boolean} : a.integer) ==
             (b.kind == Value::Kind::kBool ? int64_t{b.boolean} : b.integer);
    return numeric(a) == numeric(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.text == b.text;
    case Value::Kind::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    case Value::Kind::kDict:
      if (a.dict->entries.size() != b.dict->entries.size()) return false;
      for (const auto& [key, value] : a.dict->entries) {
        const Value* other = b.dict->find(key);
        if (other == nullptr || !equal(value, *other)) return false;
      }
      return true;
    case Value::Kind::kCallable: return a.function == b.function;
    default: return false;
  }
}

std::string float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  // The fewest significant digits that read back as the same double.
  char buffer[64];
  int digits = 1;
  for (; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*e", digits - 1, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  // buffer is [-]d.ddde[+-]xx: split mantissa digits and exponent.
  std::string text(buffer);
  const bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  const size_t e = text.find('e');
  const int exponent = std::atoi(text.c_str() + e + 1);
  std::string mantissa = text.substr(0, e);
  mantissa.erase(std::remove(mantissa.begin(), mantissa.end(), '.'), mantissa.end());
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      if (static_cast<int>(mantissa.size()) <= exponent + 1) {
        out = mantissa + std::string(static_cast<size_t>(exponent + 1) - mantissa.size(), '0') + ".0";
      } else {
        out = mantissa.substr(0, static_cast<size_t>(exponent + 1)) + "." + mantissa.substr(static_cast<size_t>(exponent + 1));
      }
    } else {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + mantissa;
    }
  } else {
    out = mantissa.substr(0, 1);
    if (mantissa.size() > 1) out += "." + mantissa.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  }
  return negative ? "-" + out : out;
}

namespace {

// Python's repr of a str: single quotes unless the text holds ' and no ".
std::string string_repr(const std::string& text) {
  const bool use_double = text.find('\'') != std::string::npos && text.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) out += std::string("\\") + quote;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string to_repr(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kString: return string_repr(value.text);
    case Value::Kind::kList: {
      std::string out = value.is_tuple ? "(" : "[";
      for (size_t i = 0; i < value.list->size(); ++i) {
        if (i > 0) out += ", ";
        out += to_repr((*value.list)[i]);
      }
      if (value.is_tuple && value.list->size() == 1) out += ",";
      return out + (value.is_tuple ? ")" : "]");
    }
    case Value::Kind::kDict: {
      std::string out = value.dict->is_namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [key, item] : value.dict->entries) {
        if (!first) out += ", ";
        first = false;
        out += string_repr(key) + ": " + to_repr(item);
      }
      return out + (value.dict->is_namespace ? "}>" : "}");
    }
    case Value::Kind::kUndefined: return "Undefined";
    default: return to_str(value);
  }
}

std::string to_str(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return value.boolean ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(value.integer);
    case Value::Kind::kFloat: return float_repr(value.number);
    case Value::Kind::kString: return value.text;
    case Value::Kind::kCallable: return "<function>";
    default: return to_repr(value);
  }
}

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

namespace {

// The code point of the UTF-8 character `c` (as utf8_characters splits them).
uint32_t code_point(const std::string& c) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(c[i])); };
  if (c.size() == 1) return b(0);
  if (c.size() == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (c.size() == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

// json.dumps's string escaping.
std::string json_string(const std::string& text, bool ensure_ascii) {
  std::string out = "\"";
  for (const std::string& c : utf8_characters(text)) {
    const uint32_t code = code_point(c);
    switch (code) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    char hex[16];
    if (code < 0x20 || (ensure_ascii && code > 0x7e && code < 0x10000)) {
      std::snprintf(hex, sizeof hex, "\\u%04x", code);
      out += hex;
    } else if (ensure_ascii && code >= 0x10000) {
      const uint32_t v = code - 0x10000;
      std::snprintf(hex, sizeof hex, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void dump_json(const Value& value, const JsonOptions& options, int depth, std::string& out) {
  const std::string newline =
      options.indent ? "\n" + std::string(static_cast<size_t>(*options.indent * (depth + 1)), ' ') : "";
  const std::string closing = options.indent ? "\n" + std::string(static_cast<size_t>(*options.indent * depth), ' ') : "";
  switch (value.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += value.boolean ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(value.integer); return;
    case Value::Kind::kFloat:
      if (std::isnan(value.number)) out += "NaN";
      else if (std::isinf(value.number)) out += value.number > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(value.number);
      return;
    case Value::Kind::kString: out += json_string(value.text, options.ensure_ascii); return;
    case Value::Kind::kList: {
      if (value.list->empty()) {
        out += "[]";
        return;
      }
      out += "[";
      for (size_t i = 0; i < value.list->size(); ++i) {
        if (i > 0) out += options.item_separator;
        out += newline;
        dump_json((*value.list)[i], options, depth + 1, out);
      }
      out += closing + "]";
      return;
    }
    case Value::Kind::kDict: {
      if (value.dict->entries.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : value.dict->entries) entries.push_back(&entry);
      if (options.sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += "{";
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += options.item_separator;
        out += newline + json_string(entries[i]->first, options.ensure_ascii) + options.key_separator;
        dump_json(entries[i]->second, options, depth + 1, out);
      }
      out += closing + "}";
      return;
    }
    case Value::Kind::kCallable: throw std::runtime_error("a function is not JSON serializable");
  }
}

}  // namespace

std::string to_json_text(const Value& value, const JsonOptions& options) {
  std::string out;
  dump_json(value, options, 0, out);
  return out;
}

std::vector<std::string> utf8_characters(const std::string& text) {
  std::vector<std::string> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
    if (i + length > text.size()) length = 1;
    out.push_back(text.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace stepwise::chat_template
