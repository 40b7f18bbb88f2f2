// The values a chat template computes with: Jinja's (Python's) undefined, none, booleans, integers,
// floats, strings, lists / tuples, dicts (insertion-ordered, string keys; a namespace() is a dict that
// allows attribute assignment) and callables (macros, built-in functions, bound string / dict
// methods). Lists and dicts are shared by reference, as in Python. Conversion from and to JSON, and
// Python's str() / repr() / json.dumps() spellings. Internal to core/tokenizer/chat_template*.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stepwise::chat_template {

struct Value;
using List = std::vector<Value>;

struct Dict {
  std::vector<std::pair<std::string, Value>> entries;  // in insertion order
  bool is_namespace = false;                           // made by namespace(): `set ns.key = ...` allowed

  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

// Positional and keyword arguments of a call.
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  // The argument at `index` or named `name`, if given.
  const Value* get(size_t index, const std::string& name) const;
};

// A callable's body; errors it throws are plain messages, positioned by the caller.
using Function = std::function<Value(const Arguments&)>;

struct Value {
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Kind kind = Kind::kUndefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0.0;
  std::string text;
  std::shared_ptr<List> list;  // kList
  bool is_tuple = false;       // kList written as a tuple: repr() uses parentheses
  std::shared_ptr<Dict> dict;  // kDict
  std::shared_ptr<const Function> function;
  std::string undefined_hint;  // kUndefined: why, for the error when it is used ("'x' is undefined")

  static Value undefined(std::string hint = "");
  static Value none();
  static Value from_bool(bool value);
  static Value from_int(int64_t value);
  static Value from_float(double value);
  static Value from_string(std::string value);
  static Value from_list(List items, bool tuple = false);
  static Value from_dict(std::shared_ptr<Dict> dict);
  static Value from_function(Function function);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_dict() const { return kind == Kind::kDict; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  // The type's name as Python spells it (in error messages).
  std::string type_name() const;
};

// JSON (objects keep their key order when the json type is ordered; nlohmann::json sorts them)
// to a template value and back (undefined becomes null; callables are an error).
Value value_from_json(const nlohmann::ordered_json& json);

// Python's truth value: undefined, none, false, 0, 0.0, "", [] and {} are false.
bool truthy(const Value& value);
// Python's ==.
bool equal(const Value& a, const Value& b);
// Python's str() as Jinja prints it ({{ value }}): undefined prints nothing, none "None", True "True".
std::string to_str(const Value& value);
// Python's repr() (strings quoted as Python quotes them).
std::string to_repr(const Value& value);
// Python's float repr: the shortest decimal that round-trips ("0.1", "1e-05", "1e+16", "2.0").
std::string float_repr(double value);

struct JsonOptions {
  std::optional<int64_t> indent;
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};
// json.dumps(value, ...) as the Hugging Face `tojson` filter calls it.
std::string to_json_text(const Value& value, const JsonOptions& options);

// UTF-8 <-> code points (strings are indexed, sliced and measured in code points, as in Python).
std::vector<std::string> utf8_characters(const std::string& text);
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace stepwise::chat_template
