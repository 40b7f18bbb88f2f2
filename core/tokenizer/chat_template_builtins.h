// What a chat template can call: Jinja's filters, tests and global functions of the supported subset,
// the str / dict methods templates use, attribute / item / slice access, the operators, and iteration,
// all with Python's semantics. Faults carry no position: the evaluator (chat_template_eval.cpp) adds the
// template's line and column. Internal to core/tokenizer/chat_template*.cpp.
#pragma once

#include <optional>
#include <string>

#include "core/tokenizer/chat_template_value.h"

namespace stepwise::chat_template {

// A rendering error without a position yet.
struct TemplateFault {
  std::string message;
};
[[noreturn]] void fault(std::string message);

bool is_known_filter(const std::string& name);
bool is_known_test(const std::string& name);
// The names, comma-separated (for docs and error messages).
std::string known_filters();
std::string known_tests();

Value apply_filter(const std::string& name, const Value& operand, const Arguments& args);
bool apply_test(const std::string& name, const Value& operand, const Arguments& args);

// obj.name: a str / dict method, else the dict's key; undefined when absent (an error on undefined).
Value get_attribute(const Value& object, const std::string& name);
// obj[key]: the element or key, else the method; undefined when absent (an error on undefined).
Value get_item(const Value& object, const Value& key);
// obj[start:stop:step] on a list, tuple or str (in code points).
Value slice_of(const Value& object, std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step);

// + - * / // % ** ~ on two values.
Value binary_operation(const std::string& op, const Value& left, const Value& right);
// == != < > <= >= in "not in".
bool compare(const std::string& op, const Value& left, const Value& right);

// The items a for loop visits: a list's elements, a dict's keys, a str's characters; undefined: none.
List iterate(const Value& value);

// range, namespace, dict, raise_exception, strftime_now.
void add_global_functions(Dict& globals);

}  // namespace stepwise::chat_template
