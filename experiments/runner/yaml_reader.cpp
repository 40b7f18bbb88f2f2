// Strict YAML accessors with key-path and line-number errors.
#include "experiments/runner/yaml_reader.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/regular_file.h"

namespace stepwise::runner {
namespace {

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  return "a mapping";
}

std::string bounds_text(const char* kind, std::optional<double> minimum, std::optional<double> maximum) {
  std::ostringstream out;
  out << kind;
  if (minimum && maximum) out << " in [" << *minimum << ", " << *maximum << "]";
  else if (minimum) out << " >= " << *minimum;
  else if (maximum) out << " <= " << *maximum;
  return out.str();
}

}  // namespace

int yaml_line(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

YamlReader::YamlReader(YAML::Node node, std::string path, std::string file,
                       std::map<std::string, std::string> key_labels)
    : node_(std::move(node)),
      path_(std::move(path)),
      file_(std::move(file)),
      key_labels_(std::move(key_labels)),
      used_(std::make_shared<std::set<std::string>>()) {
  if (!node_.IsMap()) {
    std::ostringstream out;
    out << where(yaml_line(node_)) << (path_.empty() ? "top level" : path_) << ": expected a mapping of keys, got "
        << describe(node_);
    throw Error(out.str());
  }
}

YamlReader YamlReader::load_file(const std::string& file) {
  require_regular_file(file);  // a directory or FIFO is refused by type, never read
  std::ifstream in(file);
  check(in.good(), file, ": cannot read the experiment file");
  std::stringstream text;
  text << in.rdbuf();
  return load_string(text.str(), file);
}

YamlReader YamlReader::load_string(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(file, ":", e.mark.line + 1, ": not valid YAML (", e.msg, ")");
  }
  return YamlReader(root, "", file);
}

bool YamlReader::has(const std::string& key) const {
  return node_[key].IsDefined() && !node_[key].IsNull();
}

std::vector<std::string> YamlReader::keys() const {
  std::vector<std::string> out;
  for (const auto& entry : node_) out.push_back(entry.first.as<std::string>());
  return out;
}

std::string YamlReader::key_path(const std::string& key) const {
  const auto label = key_labels_.find(key);
  if (label != key_labels_.end()) return label->second;
  return path_.empty() ? key : path_ + "." + key;
}

std::string YamlReader::where(int line) const {
  return file_.empty() ? std::string() : file_ + ":" + std::to_string(line) + ": ";
}

std::string YamlReader::location() const {
  // A mapping assembled in code (a sweep point) has no line of its own: use its first value's.
  int line = yaml_line(node_);
  for (auto entry = node_.begin(); line == 0 && entry != node_.end(); ++entry) line = yaml_line(entry->second);
  return where(line) + path_;
}

int YamlReader::line_of(const std::string& key) const {
  YAML::Node found = node_[key];
  if (!found.IsDefined()) return yaml_line(node_);
  // An empty value (`key:`) is marked where the next token starts: use the key's own line.
  if (found.IsNull())
    for (const auto& entry : node_)
      if (entry.first.Scalar() == key) return yaml_line(entry.first);
  return yaml_line(found);
}

void YamlReader::fail_at(const std::string& key, const std::string& message) const {
  std::ostringstream out;
  out << where(line_of(key)) << key_path(key) << ": " << message;
  throw Error(out.str());
}

YAML::Node YamlReader::value(const std::string& key) const {
  used_->insert(key);
  return node_[key];
}

std::string YamlReader::string(const std::string& key) const {
  YAML::Node found = value(key);
  if (!found.IsDefined() || found.IsNull()) fail_at(key, "required key is missing");
  if (!found.IsScalar()) fail_at(key, "expected a string, got " + describe(found));
  return found.Scalar();
}

std::string YamlReader::string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) {
    used_->insert(key);
    return fallback;
  }
  return string(key);
}

std::string YamlReader::choice(const std::string& key, const std::vector<std::string>& allowed,
                               std::optional<std::string> fallback) const {
  std::string chosen = fallback && !has(key) ? string(key, *fallback) : string(key);
  for (const auto& option : allowed)
    if (option == chosen) return chosen;
  std::string list;
  for (const auto& option : allowed) list += (list.empty() ? "" : " | ") + option;
  fail_at(key, "expected one of " + list + ", got '" + chosen + "'");
}

std::optional<int64_t> YamlReader::optional_integer(const std::string& key, std::optional<int64_t> minimum,
                                                    std::optional<int64_t> maximum) const {
  YAML::Node found = value(key);
  if (!found.IsDefined() || found.IsNull()) return std::nullopt;
  std::optional<double> lo, hi;
  if (minimum) lo = static_cast<double>(*minimum);
  if (maximum) hi = static_cast<double>(*maximum);
  const std::string expectation = bounds_text("an integer", lo, hi);
  int64_t parsed = 0;
  if (!found.IsScalar() || !YAML::convert<int64_t>::decode(found, parsed))
    fail_at(key, "expected " + expectation + ", got " + describe(found));
  if ((minimum && parsed < *minimum) || (maximum && parsed > *maximum))
    fail_at(key, "expected " + expectation + ", got " + std::to_string(parsed));
  return parsed;
}

int64_t YamlReader::integer(const std::string& key, std::optional<int64_t> fallback, std::optional<int64_t> minimum,
                            std::optional<int64_t> maximum) const {
  auto parsed = optional_integer(key, minimum, maximum);
  if (parsed) return *parsed;
  if (!fallback) fail_at(key, "required key is missing");
  return *fallback;
}

std::optional<double> YamlReader::optional_number(const std::string& key, std::optional<double> minimum,
                                                  std::optional<double> maximum) const {
  YAML::Node found = value(key);
  if (!found.IsDefined() || found.IsNull()) return std::nullopt;
  const std::string expectation = bounds_text("a number", minimum, maximum);
  double parsed = 0;
  if (!found.IsScalar() || !YAML::convert<double>::decode(found, parsed) || !std::isfinite(parsed))
    fail_at(key, "expected " + expectation + ", got " + describe(found));
  if ((minimum && parsed < *minimum) || (maximum && parsed > *maximum)) {
    std::ostringstream got;
    got << parsed;
    fail_at(key, "expected " + expectation + ", got " + got.str());
  }
  return parsed;
}

double YamlReader::number(const std::string& key, std::optional<double> fallback, std::optional<double> minimum,
                          std::optional<double> maximum) const {
  auto parsed = optional_number(key, minimum, maximum);
  if (parsed) return *parsed;
  if (!fallback) fail_at(key, "required key is missing");
  return *fallback;
}

bool YamlReader::boolean(const std::string& key, std::optional<bool> fallback) const {
  YAML::Node found = value(key);
  if (!found.IsDefined() || found.IsNull()) {
    if (!fallback) fail_at(key, "required key is missing");
    return *fallback;
  }
  bool parsed = false;
  if (!found.IsScalar() || !YAML::convert<bool>::decode(found, parsed))
    fail_at(key, "expected true or false, got " + describe(found));
  return parsed;
}

std::vector<int64_t> YamlReader::integer_list(const std::string& key) const {
  YAML::Node found = value(key);
  std::vector<int64_t> out;
  if (!found.IsDefined() || found.IsNull()) return out;
  if (found.IsScalar()) {
    int64_t parsed = 0;
    if (!YAML::convert<int64_t>::decode(found, parsed)) fail_at(key, "expected an integer or a list of integers");
    return {parsed};
  }
  if (!found.IsSequence()) fail_at(key, "expected a list of integers, got " + describe(found));
  for (const auto& item : found) {
    int64_t parsed = 0;
    if (!item.IsScalar() || !YAML::convert<int64_t>::decode(item, parsed))
      fail_at(key, "expected a list of integers, got an entry " + describe(item));
    out.push_back(parsed);
  }
  return out;
}

YamlReader YamlReader::child(const std::string& key) const {
  YAML::Node found = value(key);
  if (!found.IsDefined() || found.IsNull()) fail_at(key, "required section is missing");
  if (!found.IsMap()) fail_at(key, "expected a mapping of keys, got " + describe(found));
  return YamlReader(found, key_path(key), file_);
}

std::vector<YamlReader> YamlReader::children(const std::string& key) const {
  YAML::Node found = value(key);
  std::vector<YamlReader> out;
  if (!found.IsDefined() || found.IsNull()) return out;
  if (!found.IsSequence()) fail_at(key, "expected a list, got " + describe(found));
  for (size_t i = 0; i < found.size(); ++i) {
    const std::string item_path = key_path(key) + "[" + std::to_string(i) + "]";
    if (!found[i].IsMap()) {
      std::ostringstream out_message;
      out_message << where(yaml_line(found[i])) << item_path << ": expected a mapping of keys, got "
                  << describe(found[i]);
      throw Error(out_message.str());
    }
    out.emplace_back(found[i], item_path, file_);
  }
  return out;
}

void YamlReader::finish() const {
  for (const auto& entry : node_) {
    const std::string key = entry.first.as<std::string>();
    if (!used_->count(key)) {
      std::ostringstream out;
      out << where(yaml_line(entry.first)) << key_path(key) << ": unknown key";
      throw Error(out.str());
    }
  }
}

}  // namespace stepwise::runner
