// Attribute, item and slice access, the str and dict methods, the operators, iteration and the global
// functions of chat templates, each as Python (and so Jinja) defines it.
#include <cmath>
#include <cstdint>
#include <ctime>

#include "core/tokenizer/chat_template_builtins.h"
#include "core/tokenizer/chat_template_text.h"

namespace stepwise::chat_template {

void fault(std::string message) { throw TemplateFault{std::move(message)}; }

namespace {

// Results larger than this are refused rather than allocated ('x' * 10**12).
constexpr size_t kMaxResultBytes = size_t{64} << 20;
constexpr int64_t kMaxRangeItems = 1 << 20;

[[noreturn]] void undefined_used(const Value& value) {
  fault(value.undefined_hint.empty() ? "an undefined value is used" : value.undefined_hint);
}

std::string object_name(const Value& value) { return "'" + value.type_name() + " object'"; }

int64_t as_int(const Value& value, const std::string& what) {
  if (value.kind == Value::Kind::kInt) return value.integer;
  if (value.kind == Value::Kind::kBool) return value.boolean ? 1 : 0;
  fault(what + " must be an integer, got " + value.type_name());
}

const std::string& as_string(const Value& value, const std::string& what) {
  if (!value.is_string()) fault(what + " must be a string, got " + value.type_name());
  return value.text;
}

// None or a string argument (strip's chars, split's sep).
std::optional<std::string> optional_string(const Arguments& args, size_t index, const std::string& name,
                                           const std::string& what) {
  const Value* v = args.get(index, name);
  if (v == nullptr || v->is_none()) return std::nullopt;
  return as_string(*v, what);
}

bool starts_or_ends(const std::string& text, const Value& pattern, bool start, const std::string& method) {
  auto one = [&](const std::string& p) {
    if (p.size() > text.size()) return false;
    return start ? text.compare(0, p.size(), p) == 0 : text.compare(text.size() - p.size(), p.size(), p) == 0;
  };
  if (pattern.is_string()) return one(pattern.text);
  if (pattern.is_list()) {
    for (const Value& item : *pattern.list)
      if (one(as_string(item, method + "() tuple element"))) return true;
    return false;
  }
  fault(method + "() takes a string or a tuple of strings, got " + pattern.type_name());
}

List split_text(const std::string& text, const std::optional<std::string>& separator, int64_t max_split) {
  List parts;
  if (!separator) {
    const std::vector<std::string> chars = utf8_characters(text);
    size_t i = 0;
    while (true) {
      while (i < chars.size() && is_python_space(chars[i])) ++i;
      if (i >= chars.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(parts.size()) >= max_split) {
        std::string rest;
        for (size_t j = i; j < chars.size(); ++j) rest += chars[j];
        // Python keeps the remainder's trailing whitespace only when the split count ran out.
        parts.push_back(Value::from_string(rest));
        break;
      }
      std::string word;
      while (i < chars.size() && !is_python_space(chars[i])) word += chars[i++];
      parts.push_back(Value::from_string(word));
    }
    return parts;
  }
  if (separator->empty()) fault("split(): empty separator");
  size_t start = 0;
  while (true) {
    const size_t at = text.find(*separator, start);
    if (at == std::string::npos || (max_split >= 0 && static_cast<int64_t>(parts.size()) >= max_split)) {
      parts.push_back(Value::from_string(text.substr(start)));
      return parts;
    }
    parts.push_back(Value::from_string(text.substr(start, at - start)));
    start = at + separator->size();
  }
}

std::string replace_text(const std::string& text, const std::string& old_text, const std::string& new_text,
                         int64_t count) {
  std::string out;
  if (old_text.empty()) {
    // Python inserts the replacement around every character.
    const std::vector<std::string> chars = utf8_characters(text);
    int64_t done = 0;
    for (const std::string& c : chars) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      out += c;
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = text.find(old_text, start);
    if (at == std::string::npos) break;
    out += text.substr(start, at - start) + new_text;
    if (out.size() > kMaxResultBytes) fault("replace(): the result is too large");
    start = at + old_text.size();
    ++done;
  }
  return out + text.substr(start);
}

Value string_method(const std::string& text, const std::string& name) {
  auto method = [&](auto body) { return Value::from_function(std::move(body)); };
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return method([text, start, name](const Arguments& args) {
      const Value* pattern = args.get(0, "prefix");
      if (pattern == nullptr) fault(name + "() takes one argument");
      return Value::from_bool(starts_or_ends(text, *pattern, start, name));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return method([text, left, right, name](const Arguments& args) {
      return Value::from_string(strip_text(text, optional_string(args, 0, "chars", name + "() chars"), left, right));
    });
  }
  if (name == "split") {
    return method([text](const Arguments& args) {
      const Value* max_split = args.get(1, "maxsplit");
      return Value::from_list(split_text(text, optional_string(args, 0, "sep", "split() sep"),
                                         max_split ? as_int(*max_split, "split() maxsplit") : -1));
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    return method([text, name](const Arguments&) { return Value::from_string(change_case(text, name)); });
  }
  if (name == "replace") {
    return method([text](const Arguments& args) {
      const Value* old_text = args.get(0, "old");
      const Value* new_text = args.get(1, "new");
      if (old_text == nullptr || new_text == nullptr) fault("replace() takes two strings");
      const Value* count = args.get(2, "count");
      return Value::from_string(replace_text(text, as_string(*old_text, "replace() old"),
                                             as_string(*new_text, "replace() new"),
                                             count ? as_int(*count, "replace() count") : -1));
    });
  }
  if (name == "find" || name == "count") {
    const bool find = name == "find";
    return method([text, find, name](const Arguments& args) {
      const Value* sub = args.get(0, "sub");
      if (sub == nullptr) fault(name + "() takes one argument");
      const std::string& needle = as_string(*sub, name + "() argument");
      if (find) {
        const size_t at = text.find(needle);
        return Value::from_int(at == std::string::npos ? -1
                                                       : static_cast<int64_t>(utf8_characters(text.substr(0, at)).size()));
      }
      if (needle.empty()) return Value::from_int(static_cast<int64_t>(utf8_characters(text).size()) + 1);
      int64_t n = 0;
      for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
      return Value::from_int(n);
    });
  }
  if (name == "join") {
    return method([text](const Arguments& args) {
      const Value* items = args.get(0, "iterable");
      if (items == nullptr) fault("join() takes one argument");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(*items)) {
        if (!first) out += text;
        first = false;
        out += as_string(item, "join() item");
      }
      return Value::from_string(out);
    });
  }
  return Value::undefined("'str object' has no attribute '" + name + "'");
}

Value dict_method(const std::shared_ptr<Dict>& dict, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Value::from_function([dict, name](const Arguments&) {
      List out;
      for (const auto& [key, value] : dict->entries) {
        if (name == "items") out.push_back(Value::from_list({Value::from_string(key), value}, true));
        else out.push_back(name == "keys" ? Value::from_string(key) : value);
      }
      return Value::from_list(std::move(out));
    });
  }
  if (name == "get") {
    return Value::from_function([dict](const Arguments& args) {
      const Value* key = args.get(0, "key");
      if (key == nullptr) fault("get() takes a key");
      if (key->is_string())
        if (const Value* found = dict->find(key->text)) return *found;
      const Value* fallback = args.get(1, "default");
      return fallback ? *fallback : Value::none();
    });
  }
  return Value::undefined();
}

}  // namespace

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind) {
    case Value::Kind::kUndefined: undefined_used(object);
    case Value::Kind::kString: return string_method(object.text, name);
    case Value::Kind::kDict: {
      if (!object.dict->is_namespace) {
        Value method = dict_method(object.dict, name);
        if (!method.is_undefined()) return method;
      }
      if (const Value* found = object.dict->find(name)) return *found;
      return Value::undefined(object_name(object) + " has no attribute '" + name + "'");
    }
    default: return Value::undefined(object_name(object) + " has no attribute '" + name + "'");
  }
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) undefined_used(object);
  if ((object.is_list() || object.is_string()) && (key.kind == Value::Kind::kInt || key.kind == Value::Kind::kBool)) {
    const int64_t raw = as_int(key, "an index");
    if (object.is_list()) {
      const auto size = static_cast<int64_t>(object.list->size());
      const int64_t index = raw < 0 ? raw + size : raw;
      if (index < 0 || index >= size)
        return Value::undefined(object_name(object) + " has no element " + std::to_string(raw));
      return (*object.list)[static_cast<size_t>(index)];
    }
    const std::vector<std::string> chars = utf8_characters(object.text);
    const auto size = static_cast<int64_t>(chars.size());
    const int64_t index = raw < 0 ? raw + size : raw;
    if (index < 0 || index >= size) return Value::undefined("'str object' has no element " + std::to_string(raw));
    return Value::from_string(chars[static_cast<size_t>(index)]);
  }
  if (object.is_dict() && key.is_string()) {
    if (const Value* found = object.dict->find(key.text)) return *found;
    if (!object.dict->is_namespace) {
      Value method = dict_method(object.dict, key.text);
      if (!method.is_undefined()) return method;
    }
    return Value::undefined(object_name(object) + " has no attribute '" + key.text + "'");
  }
  if (key.is_string() && object.is_string()) return string_method(object.text, key.text);
  return Value::undefined(object_name(object) + " has no element " + to_repr(key));
}

Value slice_of(const Value& object, std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step) {
  if (object.is_undefined()) undefined_used(object);
  const int64_t stride = step.value_or(1);
  if (stride == 0) fault("slice step cannot be zero");
  std::vector<std::string> chars;
  if (object.is_string()) chars = utf8_characters(object.text);
  else if (!object.is_list()) fault(object_name(object) + " cannot be sliced");
  const auto size = static_cast<int64_t>(object.is_string() ? chars.size() : object.list->size());
  // Python's slice.indices().
  auto clamp = [&](std::optional<int64_t> bound, int64_t fallback) {
    if (!bound) return fallback;
    int64_t v = *bound < 0 ? *bound + size : *bound;
    if (stride > 0) return std::min(std::max<int64_t>(v, 0), size);
    return std::min(std::max<int64_t>(v, -1), size - 1);
  };
  const int64_t first = clamp(start, stride > 0 ? 0 : size - 1);
  const int64_t last = clamp(stop, stride > 0 ? size : -1);
  std::vector<size_t> picked;
  for (int64_t i = first; stride > 0 ? i < last : i > last; i += stride) picked.push_back(static_cast<size_t>(i));
  if (object.is_string()) {
    std::string out;
    for (size_t i : picked) out += chars[i];
    return Value::from_string(out);
  }
  List out;
  out.reserve(picked.size());
  for (size_t i : picked) out.push_back((*object.list)[i]);
  return Value::from_list(std::move(out), object.is_tuple);
}

namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& left, const Value& right) {
  fault("unsupported operand types for " + op + ": '" + left.type_name() + "' and '" + right.type_name() + "'");
}

bool is_integral(const Value& v) { return v.kind == Value::Kind::kInt || v.kind == Value::Kind::kBool; }
double as_double(const Value& v) { return v.kind == Value::Kind::kFloat ? v.number : static_cast<double>(as_int(v, "")); }

Value repeat(const Value& sequence, int64_t times) {
  const size_t count = times > 0 ? static_cast<size_t>(times) : 0;
  if (sequence.is_string()) {
    if (count > 0 && sequence.text.size() > kMaxResultBytes / count) fault("string repetition is too large");
    const size_t total = sequence.text.size() * count;
    if (total == 0) return Value::from_string("");
    std::string out = sequence.text;
    out.reserve(total);
    while (out.size() * 2 <= total) out.append(out);  // doubling
    out.append(out.data(), total - out.size());
    return Value::from_string(std::move(out));
  }
  if (count > 0 && sequence.list->size() > (kMaxResultBytes / 64) / count) fault("list repetition is too large");
  List out;
  if (sequence.list->empty()) return Value::from_list(std::move(out), sequence.is_tuple);
  for (size_t i = 0; i < count; ++i) out.insert(out.end(), sequence.list->begin(), sequence.list->end());
  return Value::from_list(std::move(out), sequence.is_tuple);
}

}  // namespace

Value binary_operation(const std::string& op, const Value& left, const Value& right) {
  if (op == "~") {
    std::string text = to_str(left);
    const std::string tail = to_str(right);
    if (text.size() + tail.size() > kMaxResultBytes) fault("string concatenation is too large");
    return Value::from_string(text + tail);
  }
  if (left.is_undefined()) undefined_used(left);
  if (right.is_undefined()) undefined_used(right);
  if (left.is_number() && right.is_number()) {
    const bool integral = is_integral(left) && is_integral(right);
    if (op == "+" || op == "-" || op == "*") {
      if (integral) {
        const int64_t a = as_int(left, ""), b = as_int(right, "");
        int64_t result = 0;
        const bool overflow = op == "+"   ? __builtin_add_overflow(a, b, &result)
                              : op == "-" ? __builtin_sub_overflow(a, b, &result)
                                          : __builtin_mul_overflow(a, b, &result);
        if (overflow) fault("integer " + op + " overflows 64 bits");
        return Value::from_int(result);
      }
      const double a = as_double(left), b = as_double(right);
      return Value::from_float(op == "+" ? a + b : op == "-" ? a - b : a * b);
    }
    if (op == "/") {
      if (as_double(right) == 0.0) fault("division by zero");
      return Value::from_float(as_double(left) / as_double(right));
    }
    if (op == "//" || op == "%") {
      if (as_double(right) == 0.0) fault(op == "//" ? "integer division by zero" : "modulo by zero");
      if (integral) {
        const int64_t a = as_int(left, ""), b = as_int(right, "");
        if (a == INT64_MIN && b == -1) fault("integer " + op + " overflows 64 bits");
        int64_t q = a / b, r = a % b;
        if (r != 0 && ((r < 0) != (b < 0))) {  // Python floors
          q -= 1;
          r += b;
        }
        return Value::from_int(op == "//" ? q : r);
      }
      const double a = as_double(left), b = as_double(right);
      const double q = std::floor(a / b);
      return Value::from_float(op == "//" ? q : a - q * b);
    }
    if (op == "**") {
      if (integral && as_int(right, "") >= 0) {
        const int64_t base = as_int(left, ""), exponent = as_int(right, "");
        if (base == 0 || base == 1) return Value::from_int(exponent == 0 ? 1 : base);
        if (base == -1) return Value::from_int(exponent % 2 == 0 ? 1 : -1);
        int64_t result = 1;
        for (int64_t i = 0; i < exponent; ++i)
          if (__builtin_mul_overflow(result, as_int(left, ""), &result)) fault("integer ** overflows 64 bits");
        return Value::from_int(result);
      }
      return Value::from_float(std::pow(as_double(left), as_double(right)));
    }
  }
  if (op == "+") {
    if (left.is_string() && right.is_string()) {
      if (left.text.size() + right.text.size() > kMaxResultBytes) fault("string concatenation is too large");
      return Value::from_string(left.text + right.text);
    }
    if (left.is_list() && right.is_list()) {
      if (left.list->size() + right.list->size() > kMaxResultBytes / 64) fault("list concatenation is too large");
      List out = *left.list;
      out.insert(out.end(), right.list->begin(), right.list->end());
      return Value::from_list(std::move(out), left.is_tuple);
    }
  }
  if (op == "*") {
    if ((left.is_string() || left.is_list()) && is_integral(right)) return repeat(left, as_int(right, ""));
    if ((right.is_string() || right.is_list()) && is_integral(left)) return repeat(right, as_int(left, ""));
  }
  unsupported(op, left, right);
}

namespace {

// -1, 0, 1 for < == >, for the types Python orders.
int order(const Value& a, const Value& b, const std::string& op) {
  if (a.is_number() && b.is_number()) {
    const double x = as_double(a), y = as_double(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  if (a.is_list() && b.is_list()) {
    for (size_t i = 0; i < std::min(a.list->size(), b.list->size()); ++i) {
      if (equal((*a.list)[i], (*b.list)[i])) continue;
      return order((*a.list)[i], (*b.list)[i], op);
    }
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
  }
  if (a.is_undefined()) undefined_used(a);
  if (b.is_undefined()) undefined_used(b);
  fault("'" + op + "' is not supported between '" + a.type_name() + "' and '" + b.type_name() + "'");
}

}  // namespace

bool compare(const std::string& op, const Value& left, const Value& right) {
  if (op == "==") return equal(left, right);
  if (op == "!=") return !equal(left, right);
  if (op == "in" || op == "not in") {
    bool found = false;
    if (right.is_string()) {
      if (left.is_undefined()) undefined_used(left);
      found = right.text.find(as_string(left, "the left side of 'in <string>'")) != std::string::npos;
    } else if (right.is_list()) {
      for (const Value& item : *right.list) found = found || equal(item, left);
    } else if (right.is_dict()) {
      found = left.is_string() && right.dict->find(left.text) != nullptr;
    } else if (!right.is_undefined()) {
      fault("argument of type '" + right.type_name() + "' is not iterable");
    }
    return op == "in" ? found : !found;
  }
  const int o = order(left, right, op);
  if (op == "<") return o < 0;
  if (op == ">") return o > 0;
  if (op == "<=") return o <= 0;
  return o >= 0;
}

List iterate(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return *value.list;
    case Value::Kind::kDict: {
      List keys;
      for (const auto& entry : value.dict->entries) keys.push_back(Value::from_string(entry.first));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (std::string& c : utf8_characters(value.text)) chars.push_back(Value::from_string(std::move(c)));
      return chars;
    }
    default: fault("'" + value.type_name() + "' object is not iterable");
  }
}

void add_global_functions(Dict& globals) {
  globals.set("range", Value::from_function([](const Arguments& args) {
                if (!args.keyword.empty() || args.positional.empty() || args.positional.size() > 3)
                  fault("range() takes 1 to 3 integers");
                int64_t start = 0, stop = 0, step = 1;
                if (args.positional.size() == 1) {
                  stop = as_int(args.positional[0], "range() argument");
                } else {
                  start = as_int(args.positional[0], "range() argument");
                  stop = as_int(args.positional[1], "range() argument");
                  if (args.positional.size() == 3) step = as_int(args.positional[2], "range() argument");
                }
                if (step == 0) fault("range() step must not be zero");
                List out;
                for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                  if (static_cast<int64_t>(out.size()) >= kMaxRangeItems) fault("range() is too long");
                  out.push_back(Value::from_int(i));
                }
                return Value::from_list(std::move(out));
              }));
  auto make_dict = [](bool is_namespace) {
    return [is_namespace](const Arguments& args) {
      auto dict = std::make_shared<Dict>();
      dict->is_namespace = is_namespace;
      for (const Value& initial : args.positional) {
        if (!initial.is_dict()) fault(std::string(is_namespace ? "namespace" : "dict") + "() takes a dict");
        for (const auto& [key, value] : initial.dict->entries) dict->set(key, value);
      }
      for (const auto& [key, value] : args.keyword) dict->set(key, value);
      return Value::from_dict(std::move(dict));
    };
  };
  globals.set("namespace", Value::from_function(make_dict(true)));
  globals.set("dict", Value::from_function(make_dict(false)));
  globals.set("raise_exception", Value::from_function([](const Arguments& args) -> Value {
                const Value* message = args.get(0, "message");
                fault("the template raised an error: " + (message ? to_str(*message) : std::string()));
              }));
  globals.set("strftime_now", Value::from_function([](const Arguments& args) {
                const Value* format = args.get(0, "format");
                if (format == nullptr) fault("strftime_now() takes a format");
                const std::time_t now = std::time(nullptr);
                std::tm local{};
                localtime_r(&now, &local);
                char buffer[256];
                const size_t n = std::strftime(buffer, sizeof buffer, as_string(*format, "strftime_now() format").c_str(),
                                               &local);
                return Value::from_string(std::string(buffer, n));
              }));
}

}  // namespace stepwise::chat_template
