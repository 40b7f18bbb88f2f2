// Command-line flag parsing.
#include "experiments/terminal/cli_args.h"

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/error.h"

namespace stepwise {

int64_t parse_int(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  check(!text.empty() && end != nullptr && *end == '\0' && errno == 0, what, ": expected an integer, got '", text,
        "'");
  return value;
}

double parse_double(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  check(!text.empty() && end != nullptr && *end == '\0' && errno == 0, what, ": expected a number, got '", text, "'");
  return value;
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) continue;
    out.push_back(parse_int(item, what));
  }
  check(!out.empty(), what, ": expected a comma-separated list of integers, got '", text, "'");
  return out;
}

ArgParser::ArgParser(std::string usage, std::string summary) : usage_(std::move(usage)), summary_(std::move(summary)) {}

void ArgParser::add_option(const std::string& name, const std::string& value_name, const std::string& help,
                           std::optional<std::string> default_value) {
  order_.push_back(name);
  specs_[name] = Spec{value_name.empty() ? "VALUE" : value_name, help, std::move(default_value)};
}

void ArgParser::add_switch(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{"", help, std::nullopt};
}

void ArgParser::add_repeated_option(const std::string& name, const std::string& value_name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{value_name.empty() ? "VALUE" : value_name, help + " (repeatable)", std::nullopt, true};
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << help();
      return false;
    }
    check(arg.rfind("--", 0) == 0, "unexpected argument '", arg, "' (see --help)");
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = specs_.find(name);
    check(it != specs_.end(), "unknown flag --", name, " (see --help)");
    if (it->second.value_name.empty()) {
      check(!inline_value, "flag --", name, " takes no value");
      values_[name] = "1";
      continue;
    }
    if (inline_value) {
      values_[name] = *inline_value;
    } else {
      check(i + 1 < args.size(), "flag --", name, " needs a value (", it->second.value_name, ")");
      values_[name] = args[++i];
    }
    if (it->second.repeated) repeated_values_[name].push_back(values_[name]);
  }
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << summary_ << "\n\n";
  for (const auto& name : order_) {
    const Spec& spec = specs_.at(name);
    std::string left = "  --" + name + (spec.value_name.empty() ? "" : " " + spec.value_name);
    out << left;
    if (left.size() < 30) out << std::string(30 - left.size(), ' ');
    else out << "\n" << std::string(30, ' ');
    out << spec.help;
    if (spec.default_value) out << " (default: " << *spec.default_value << ")";
    out << "\n";
  }
  out << "  --help                      show this help\n";
  return out.str();
}

bool ArgParser::given(const std::string& name) const { return values_.count(name) > 0; }

bool ArgParser::has(const std::string& name) const {
  if (given(name)) return true;
  auto it = specs_.find(name);
  return it != specs_.end() && it->second.default_value.has_value();
}

std::optional<std::string> ArgParser::get_optional(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (auto it = specs_.find(name); it != specs_.end() && it->second.default_value) return it->second.default_value;
  return std::nullopt;
}

std::string ArgParser::get(const std::string& name) const {
  auto value = get_optional(name);
  check(value.has_value(), "missing required flag --", name, " (see --help)");
  return *value;
}

int64_t ArgParser::get_int(const std::string& name) const { return parse_int(get(name), "--" + name); }

std::optional<int64_t> ArgParser::get_int_optional(const std::string& name) const {
  auto value = get_optional(name);
  if (!value) return std::nullopt;
  return parse_int(*value, "--" + name);
}

double ArgParser::get_double(const std::string& name) const { return parse_double(get(name), "--" + name); }

std::optional<double> ArgParser::get_double_optional(const std::string& name) const {
  auto value = get_optional(name);
  if (!value) return std::nullopt;
  return parse_double(*value, "--" + name);
}

std::vector<int64_t> ArgParser::get_int_list(const std::string& name) const {
  return parse_int_list(get(name), "--" + name);
}

bool ArgParser::get_switch(const std::string& name) const { return given(name); }

std::vector<std::string> ArgParser::get_all(const std::string& name) const {
  auto it = repeated_values_.find(name);
  return it == repeated_values_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace stepwise
