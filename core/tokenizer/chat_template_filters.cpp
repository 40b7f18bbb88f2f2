// The filters and tests of the chat-template subset, with Jinja's arguments and results (tojson as
// Hugging Face defines it: json.dumps with ensure_ascii=False).
#include <algorithm>
#include <functional>
#include <cctype>
#include <cstdint>
#include <map>
#include <stdexcept>

#include "core/tokenizer/chat_template_builtins.h"
#include "core/tokenizer/chat_template_text.h"

namespace stepwise::chat_template {
namespace {

using Filter = std::function<Value(const Value&, const Arguments&)>;
using Test = std::function<bool(const Value&, const Arguments&)>;

const Value& required(const Arguments& args, size_t index, const std::string& name, const std::string& what) {
  const Value* v = args.get(index, name);
  if (v == nullptr) fault(what + " needs its '" + name + "' argument");
  return *v;
}

bool flag(const Arguments& args, size_t index, const std::string& name) {
  const Value* v = args.get(index, name);
  return v != nullptr && truthy(*v);
}

std::string text_of(const Value& value) { return to_str(value); }

// An attribute path "a.b" or "0" of selectattr / map / sort / join.
Value attribute_path(const Value& item, const std::string& path) {
  Value current = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (current.is_undefined()) return current;
    current = numeric && current.is_list() ? get_item(current, Value::from_int(std::stoll(part)))
                                           : get_item(current, Value::from_string(part));
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

// Arguments after the first `skip` positional ones (a test's own arguments inside select / selectattr).
Arguments rest_of(const Arguments& args, size_t skip) {
  Arguments rest;
  for (size_t i = skip; i < args.positional.size(); ++i) rest.positional.push_back(args.positional[i]);
  return rest;
}

Value select_items(const Value& operand, const Arguments& args, bool by_attribute, bool keep) {
  const std::string what = std::string(keep ? "select" : "reject") + (by_attribute ? "attr" : "");
  std::string attribute;
  size_t test_index = 0;
  if (by_attribute) {
    const Value& name = required(args, 0, "attribute", what);
    if (!name.is_string()) fault(what + "() attribute must be a string");
    attribute = name.text;
    test_index = 1;
  }
  std::optional<std::string> test;
  if (test_index < args.positional.size()) {
    const Value& name = args.positional[test_index];
    if (!name.is_string()) fault(what + "() test name must be a string");
    if (!is_known_test(name.text)) fault(what + "(): no test named '" + name.text + "'");
    test = name.text;
  }
  const Arguments test_args = rest_of(args, test_index + 1);
  List out;
  for (const Value& item : iterate(operand)) {
    const Value subject = by_attribute ? attribute_path(item, attribute) : item;
    const bool passed = test ? apply_test(*test, subject, test_args) : truthy(subject);
    if (passed == keep) out.push_back(item);
  }
  return Value::from_list(std::move(out));
}

Value map_items(const Value& operand, const Arguments& args) {
  List out;
  if (const Value* attribute = args.get(99, "attribute")) {
    if (!attribute->is_string()) fault("map() attribute must be a string");
    const Value* fallback = args.get(99, "default");
    for (const Value& item : iterate(operand)) {
      Value v = attribute_path(item, attribute->text);
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value::from_list(std::move(out));
  }
  const Value& filter = required(args, 0, "filter", "map()");
  if (!filter.is_string() || !is_known_filter(filter.text)) fault("map(): no filter named '" + to_str(filter) + "'");
  const Arguments filter_args = rest_of(args, 1);
  for (const Value& item : iterate(operand)) out.push_back(apply_filter(filter.text, item, filter_args));
  return Value::from_list(std::move(out));
}

Value tojson(const Value& operand, const Arguments& args) {
  JsonOptions options;
  if (const Value* ensure_ascii = args.get(0, "ensure_ascii")) options.ensure_ascii = truthy(*ensure_ascii);
  if (const Value* indent = args.get(1, "indent"); indent != nullptr && !indent->is_none()) {
    if (indent->kind != Value::Kind::kInt || indent->integer < 0 || indent->integer > 64)
      fault("tojson() indent must be an integer from 0 to 64");
    options.indent = indent->integer;
    options.item_separator = ",";
  }
  if (const Value* separators = args.get(2, "separators"); separators != nullptr && !separators->is_none()) {
    if (!separators->is_list() || separators->list->size() != 2 || !(*separators->list)[0].is_string() ||
        !(*separators->list)[1].is_string())
      fault("tojson() separators must be two strings");
    options.item_separator = (*separators->list)[0].text;
    options.key_separator = (*separators->list)[1].text;
  }
  options.sort_keys = flag(args, 3, "sort_keys");
  try {
    return Value::from_string(to_json_text(operand, options));
  } catch (const std::runtime_error& e) {
    fault(std::string("tojson(): ") + e.what());
  }
}

Value sorted(const Value& operand, const Arguments& args) {
  List items = iterate(operand);
  const bool reverse = flag(args, 0, "reverse");
  const bool case_sensitive = flag(args, 1, "case_sensitive");
  const Value* attribute = args.get(2, "attribute");
  auto key = [&](const Value& item) {
    Value k = attribute && attribute->is_string() ? attribute_path(item, attribute->text) : item;
    if (!case_sensitive && k.is_string()) k = Value::from_string(change_case(k.text, "lower"));
    return k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? compare("<", key(b), key(a)) : compare("<", key(a), key(b));
  });
  return Value::from_list(std::move(items));
}

const std::map<std::string, Filter>& filters() {
  static const std::map<std::string, Filter> table = [] {
    std::map<std::string, Filter> t;
    t["abs"] = [](const Value& v, const Arguments&) {
      if (v.kind == Value::Kind::kFloat) return Value::from_float(v.number < 0 ? -v.number : v.number);
      if (!v.is_number()) fault("abs() needs a number, got " + v.type_name());
      const int64_t i = v.kind == Value::Kind::kBool ? v.boolean : v.integer;
      if (i == INT64_MIN) fault("abs() overflows 64 bits");
      return Value::from_int(i < 0 ? -i : i);
    };
    t["capitalize"] = [](const Value& v, const Arguments&) { return Value::from_string(change_case(text_of(v), "capitalize")); };
    t["default"] = [](const Value& v, const Arguments& args) {
      const Value* fallback = args.get(0, "default_value");
      const bool boolean = flag(args, 1, "boolean");
      if (v.is_undefined() || (boolean && !truthy(v))) return fallback ? *fallback : Value::from_string("");
      return v;
    };
    t["d"] = t["default"];
    t["first"] = [](const Value& v, const Arguments&) {
      List items = iterate(v);
      return items.empty() ? Value::undefined("first() of an empty sequence") : items.front();
    };
    t["last"] = [](const Value& v, const Arguments&) {
      List items = iterate(v);
      return items.empty() ? Value::undefined("last() of an empty sequence") : items.back();
    };
    t["float"] = [](const Value& v, const Arguments& args) {
      const Value* fallback = args.get(0, "default");
      if (v.kind == Value::Kind::kFloat) return v;
      if (v.kind == Value::Kind::kInt) return Value::from_float(static_cast<double>(v.integer));
      if (v.kind == Value::Kind::kBool) return Value::from_float(v.boolean ? 1.0 : 0.0);
      try {
        size_t used = 0;
        const std::string text = strip_text(to_str(v), std::nullopt, true, true);
        const double d = std::stod(text, &used);
        if (used == text.size()) return Value::from_float(d);
      } catch (const std::exception&) {
      }
      return fallback ? *fallback : Value::from_float(0.0);
    };
    t["int"] = [](const Value& v, const Arguments& args) {
      const Value* fallback = args.get(0, "default");
      if (v.kind == Value::Kind::kInt) return v;
      if (v.kind == Value::Kind::kBool) return Value::from_int(v.boolean);
      if (v.kind == Value::Kind::kFloat && v.number > -9.2e18 && v.number < 9.2e18)
        return Value::from_int(static_cast<int64_t>(v.number));
      try {
        size_t used = 0;
        const std::string text = strip_text(to_str(v), std::nullopt, true, true);
        const long long i = std::stoll(text, &used);
        if (used == text.size()) return Value::from_int(i);
      } catch (const std::exception&) {
      }
      return fallback ? *fallback : Value::from_int(0);
    };
    t["items"] = [](const Value& v, const Arguments&) {
      if (v.is_undefined()) return Value::from_list({});
      if (!v.is_dict()) fault("items() needs a mapping, got " + v.type_name());
      List out;
      for (const auto& [key, value] : v.dict->entries)
        out.push_back(Value::from_list({Value::from_string(key), value}, true));
      return Value::from_list(std::move(out));
    };
    t["join"] = [](const Value& v, const Arguments& args) {
      const Value* separator = args.get(0, "d");
      const Value* attribute = args.get(1, "attribute");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(v)) {
        if (!first) out += separator ? to_str(*separator) : "";
        first = false;
        out += to_str(attribute && attribute->is_string() ? attribute_path(item, attribute->text) : item);
        if (out.size() > (size_t{64} << 20)) fault("join(): the result passes 64 MiB");
      }
      return Value::from_string(out);
    };
    t["length"] = [](const Value& v, const Arguments&) {
      if (v.is_string()) return Value::from_int(static_cast<int64_t>(utf8_characters(v.text).size()));
      if (v.is_list()) return Value::from_int(static_cast<int64_t>(v.list->size()));
      if (v.is_dict()) return Value::from_int(static_cast<int64_t>(v.dict->entries.size()));
      if (v.is_undefined()) return Value::from_int(0);
      fault("object of type '" + v.type_name() + "' has no length");
    };
    t["count"] = t["length"];
    t["list"] = [](const Value& v, const Arguments&) { return Value::from_list(iterate(v)); };
    t["lower"] = [](const Value& v, const Arguments&) { return Value::from_string(change_case(text_of(v), "lower")); };
    t["upper"] = [](const Value& v, const Arguments&) { return Value::from_string(change_case(text_of(v), "upper")); };
    t["title"] = [](const Value& v, const Arguments&) { return Value::from_string(change_case(text_of(v), "title")); };
    t["map"] = map_items;
    t["select"] = [](const Value& v, const Arguments& a) { return select_items(v, a, false, true); };
    t["reject"] = [](const Value& v, const Arguments& a) { return select_items(v, a, false, false); };
    t["selectattr"] = [](const Value& v, const Arguments& a) { return select_items(v, a, true, true); };
    t["rejectattr"] = [](const Value& v, const Arguments& a) { return select_items(v, a, true, false); };
    t["replace"] = [](const Value& v, const Arguments& args) {
      Arguments method_args = args;
      return get_attribute(Value::from_string(text_of(v)), "replace").function->operator()(method_args);
    };
    t["reverse"] = [](const Value& v, const Arguments&) {
      if (v.is_string()) return slice_of(v, std::nullopt, std::nullopt, -1);
      List items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::from_list(std::move(items));
    };
    t["safe"] = [](const Value& v, const Arguments&) { return v; };
    t["sort"] = sorted;
    t["string"] = [](const Value& v, const Arguments&) { return Value::from_string(to_str(v)); };
    t["sum"] = [](const Value& v, const Arguments& args) {
      const Value* attribute = args.get(0, "attribute");
      const Value* start = args.get(1, "start");
      Value total = start ? *start : Value::from_int(0);
      for (const Value& item : iterate(v))
        total = binary_operation("+", total,
                                 attribute && attribute->is_string() ? attribute_path(item, attribute->text) : item);
      return total;
    };
    t["tojson"] = tojson;
    t["trim"] = [](const Value& v, const Arguments& args) {
      const Value* chars = args.get(0, "chars");
      return Value::from_string(strip_text(text_of(v), chars && !chars->is_none() ? std::optional(to_str(*chars)) : std::nullopt,
                                           true, true));
    };
    t["unique"] = [](const Value& v, const Arguments&) {
      List out;
      for (const Value& item : iterate(v))
        if (std::none_of(out.begin(), out.end(), [&](const Value& seen) { return equal(seen, item); }))
          out.push_back(item);
      return Value::from_list(std::move(out));
    };
    t["indent"] = [](const Value& v, const Arguments& args) {
      const Value* width = args.get(0, "width");
      const std::string pad = width == nullptr ? "    "
                              : width->is_string() ? width->text
                                                   : std::string(static_cast<size_t>(std::clamp<int64_t>(
                                                                     width->kind == Value::Kind::kInt ? width->integer : 4, 0, 64)),
                                                                 ' ');
      const bool first = flag(args, 1, "first"), blank = flag(args, 2, "blank");
      const std::string text = text_of(v);
      std::string out;
      size_t start = 0;
      bool first_line = true;
      while (true) {
        const size_t newline = text.find('\n', start);
        const std::string line = text.substr(start, newline == std::string::npos ? std::string::npos : newline - start);
        if ((first_line ? first : true) && (blank || !line.empty())) out += pad;
        out += line;
        if (newline == std::string::npos) break;
        out += '\n';
        start = newline + 1;
        first_line = false;
      }
      return Value::from_string(out);
    };
    return t;
  }();
  return table;
}

const std::map<std::string, Test>& tests() {
  static const std::map<std::string, Test> table = [] {
    std::map<std::string, Test> t;
    auto kind = [](Value::Kind k) { return [k](const Value& v, const Arguments&) { return v.kind == k; }; };
    t["defined"] = [](const Value& v, const Arguments&) { return !v.is_undefined(); };
    t["undefined"] = [](const Value& v, const Arguments&) { return v.is_undefined(); };
    t["none"] = kind(Value::Kind::kNone);
    t["boolean"] = kind(Value::Kind::kBool);
    t["true"] = [](const Value& v, const Arguments&) { return v.kind == Value::Kind::kBool && v.boolean; };
    t["false"] = [](const Value& v, const Arguments&) { return v.kind == Value::Kind::kBool && !v.boolean; };
    t["integer"] = kind(Value::Kind::kInt);
    t["float"] = kind(Value::Kind::kFloat);
    t["number"] = [](const Value& v, const Arguments&) { return v.is_number(); };
    t["string"] = kind(Value::Kind::kString);
    t["mapping"] = [](const Value& v, const Arguments&) { return v.is_dict() && !v.dict->is_namespace; };
    t["iterable"] = [](const Value& v, const Arguments&) {
      return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
    };
    t["sequence"] = [](const Value& v, const Arguments&) { return v.is_list() || v.is_dict() || v.is_string(); };
    t["callable"] = kind(Value::Kind::kCallable);
    auto against = [](const std::string& op) {
      return [op](const Value& v, const Arguments& args) { return compare(op, v, required(args, 0, "other", op)); };
    };
    t["eq"] = t["equalto"] = t["=="] = against("==");
    t["ne"] = t["!="] = against("!=");
    t["lt"] = t["lessthan"] = t["<"] = against("<");
    t["le"] = t["<="] = against("<=");
    t["gt"] = t["greaterthan"] = t[">"] = against(">");
    t["ge"] = t[">="] = against(">=");
    t["in"] = [](const Value& v, const Arguments& args) { return compare("in", v, required(args, 0, "seq", "in")); };
    t["sameas"] = [](const Value& v, const Arguments& args) {
      const Value& other = required(args, 0, "other", "sameas");
      if (v.kind != other.kind) return false;
      if (v.is_list()) return v.list == other.list;
      if (v.is_dict()) return v.dict == other.dict;
      return equal(v, other);
    };
    auto integer_of = [](const Value& v, const std::string& test) {
      if (v.kind != Value::Kind::kInt && v.kind != Value::Kind::kBool) fault("'" + test + "' needs an integer");
      return v.kind == Value::Kind::kBool ? int64_t{v.boolean} : v.integer;
    };
    t["odd"] = [integer_of](const Value& v, const Arguments&) { return integer_of(v, "odd") % 2 != 0; };
    t["even"] = [integer_of](const Value& v, const Arguments&) { return integer_of(v, "even") % 2 == 0; };
    t["divisibleby"] = [integer_of](const Value& v, const Arguments& args) {
      const int64_t d = integer_of(required(args, 0, "num", "divisibleby"), "divisibleby");
      if (d == 0) fault("divisibleby 0");
      return integer_of(v, "divisibleby") % d == 0;
    };
    t["lower"] = [](const Value& v, const Arguments&) { return v.is_string() && change_case(v.text, "lower") == v.text; };
    t["upper"] = [](const Value& v, const Arguments&) { return v.is_string() && change_case(v.text, "upper") == v.text; };
    return t;
  }();
  return table;
}

template <typename Table>
std::string names_of(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    if (!std::isalpha(static_cast<unsigned char>(entry.first[0]))) continue;
    out += (out.empty() ? "" : ", ") + entry.first;
  }
  return out;
}

}  // namespace

bool is_known_filter(const std::string& name) { return filters().count(name) > 0; }
bool is_known_test(const std::string& name) { return tests().count(name) > 0; }
std::string known_filters() { return names_of(filters()); }
std::string known_tests() { return names_of(tests()); }

Value apply_filter(const std::string& name, const Value& operand, const Arguments& args) {
  const auto found = filters().find(name);
  if (found == filters().end()) fault("no filter named '" + name + "'");
  return found->second(operand, args);
}

bool apply_test(const std::string& name, const Value& operand, const Arguments& args) {
  const auto found = tests().find(name);
  if (found == tests().end()) fault("no test named '" + name + "'");
  return found->second(operand, args);
}

}  // namespace stepwise::chat_template
