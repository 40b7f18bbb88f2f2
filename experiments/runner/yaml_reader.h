// Strict reading of YAML experiment files. A YamlReader wraps one mapping and knows its key path
// (`decoders[1]`) and file, so every error names the file, the line and the full key path:
// `configs/x.yaml:12: decoders[1].steps: expected an integer >= 1, got -4`. Keys a reader never
// asked for are reported by finish() as unknown, which makes typos fail before any work starts.
// Values that came from a command line instead of a file have no file: their errors start with the
// key's label (`--steps: expected an integer >= 1, got -4`).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stepwise::runner {

class YamlReader {
 public:
  // `file` empty: the mapping did not come from a file, and errors name each key by its entry in
  // `key_labels` (e.g. "steps" -> "--steps") instead of file, line and path.
  YamlReader(YAML::Node node, std::string path, std::string file, std::map<std::string, std::string> key_labels = {});
  static YamlReader load_file(const std::string& file);
  static YamlReader load_string(const std::string& text, const std::string& file);

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  const YAML::Node& node() const { return node_; }
  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;

  std::string key_path(const std::string& key) const;
  // "file:line: path" of the whole mapping (the path alone when there is no file).
  std::string location() const;
  // "file:line: path.key: message" as a stepwise::Error.
  [[noreturn]] void fail_at(const std::string& key, const std::string& message) const;

  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     std::optional<std::string> fallback = std::nullopt) const;
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt,
                  std::optional<int64_t> minimum = std::nullopt, std::optional<int64_t> maximum = std::nullopt) const;
  std::optional<int64_t> optional_integer(const std::string& key, std::optional<int64_t> minimum = std::nullopt,
                                          std::optional<int64_t> maximum = std::nullopt) const;
  double number(const std::string& key, std::optional<double> fallback = std::nullopt,
                std::optional<double> minimum = std::nullopt, std::optional<double> maximum = std::nullopt) const;
  std::optional<double> optional_number(const std::string& key, std::optional<double> minimum = std::nullopt,
                                        std::optional<double> maximum = std::nullopt) const;
  bool boolean(const std::string& key, std::optional<bool> fallback = std::nullopt) const;
  std::vector<int64_t> integer_list(const std::string& key) const;

  // A nested mapping; error if absent or not a mapping.
  YamlReader child(const std::string& key) const;
  // A list of mappings.
  std::vector<YamlReader> children(const std::string& key) const;

  // Marks `key` as known without reading it (sections read by other means).
  void allow(const std::string& key) const { used_->insert(key); }

  // Throws for the first key that no accessor asked for.
  void finish() const;

 private:
  YAML::Node value(const std::string& key) const;  // marks the key as used
  int line_of(const std::string& key) const;
  std::string where(int line) const;  // "file:line: ", or nothing without a file

  YAML::Node node_;
  std::string path_;
  std::string file_;
  std::map<std::string, std::string> key_labels_;
  std::shared_ptr<std::set<std::string>> used_;  // shared so copies of a reader share their bookkeeping
};

// Line (1-based) of a YAML node, or 0 when unknown.
int yaml_line(const YAML::Node& node);

}  // namespace stepwise::runner
