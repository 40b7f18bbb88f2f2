// Minimal command-line flag parser shared by the stepwise executables: `--name VALUE` options (once,
// or repeated when declared so) and `--name` switches, declared with help text so `--help` documents every flag.
// Unknown flags, missing values and malformed numbers throw stepwise::Error naming the flag.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stepwise {

class ArgParser {
 public:
  ArgParser(std::string usage, std::string summary);

  // `--name VALUE`; a default makes it optional and is shown in --help.
  void add_option(const std::string& name, const std::string& value_name, const std::string& help,
                  std::optional<std::string> default_value = std::nullopt);
  // `--name` with no value.
  void add_switch(const std::string& name, const std::string& help);
  // `--name VALUE` that may be given several times (read with get_all).
  void add_repeated_option(const std::string& name, const std::string& value_name, const std::string& help);

  // Returns false when --help was given (help already printed to stdout); throws stepwise::Error otherwise.
  bool parse(const std::vector<std::string>& args);
  std::string help() const;

  bool has(const std::string& name) const;  // given on the command line or defaulted
  bool given(const std::string& name) const;  // given on the command line
  std::string get(const std::string& name) const;  // error naming the flag when absent
  std::optional<std::string> get_optional(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  std::optional<int64_t> get_int_optional(const std::string& name) const;
  double get_double(const std::string& name) const;
  std::optional<double> get_double_optional(const std::string& name) const;
  // Comma-separated integers: "1,2,3".
  std::vector<int64_t> get_int_list(const std::string& name) const;
  bool get_switch(const std::string& name) const;
  // Every value of a repeated option, in command-line order.
  std::vector<std::string> get_all(const std::string& name) const;

 private:
  struct Spec {
    std::string value_name;  // empty for switches
    std::string help;
    std::optional<std::string> default_value;
    bool repeated = false;
  };
  std::string usage_;
  std::string summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> repeated_values_;
};

// Parses an integer / floating-point value, throwing stepwise::Error that names `what`.
int64_t parse_int(const std::string& text, const std::string& what);
double parse_double(const std::string& text, const std::string& what);
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);

}  // namespace stepwise
