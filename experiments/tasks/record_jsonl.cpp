// Reading and writing the JSON Lines files of the planning tasks; errors name the file and
// the 1-based line.
#include "experiments/tasks/record_jsonl.h"

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"

namespace stepwise::tasks {
namespace {

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r\n") == std::string::npos; }

// Calls `visit(object, line_number)` for every non-blank line, which must hold a JSON object.
void for_each_json_line(const std::string& path, const std::function<void(const nlohmann::json&, size_t)>& visit) {
  require_regular_file(path);  // a directory or FIFO is refused by type, never read
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path, ": cannot open file for reading");
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (is_blank(line)) continue;
    const nlohmann::json value = parse_json_input(line, path + ":" + std::to_string(line_number));
    check(value.is_object(), path, ":", line_number, ": expected a JSON object, got ", value.type_name());
    visit(value, line_number);
  }
  check(!in.bad(), path, ": read error after line ", line_number);
}

std::string string_field(const nlohmann::json& object, const char* key, const std::string& path, size_t line) {
  auto it = object.find(key);
  check(it != object.end(), path, ":", line, ": missing key \"", key, "\"");
  check(it->is_string(), path, ":", line, ": key \"", key, "\" must be a string, got ", it->type_name());
  return it->get<std::string>();
}

std::string quoted(const std::string& text) { return nlohmann::json(text).dump(); }

}  // namespace

std::vector<TaskRecord> read_task_records(const std::string& path, std::vector<size_t>* line_numbers) {
  std::vector<TaskRecord> records;
  if (line_numbers) line_numbers->clear();
  for_each_json_line(path, [&](const nlohmann::json& object, size_t line) {
    if (line_numbers) line_numbers->push_back(line);
    records.push_back(
        TaskRecord{string_field(object, "input", path, line), string_field(object, "output", path, line)});
  });
  return records;
}

std::string format_task_record(const TaskRecord& record) {
  return "{\"input\": " + quoted(record.input) + ", \"output\": " + quoted(record.output) + "}";
}

std::string task_records_jsonl(const std::vector<TaskRecord>& records) {
  std::string text;
  for (const auto& record : records) text += format_task_record(record) + "\n";
  return text;
}

void write_task_records(const std::string& path, const std::vector<TaskRecord>& records) {
  write_file_atomically(path, task_records_jsonl(records));
}

std::vector<std::string> read_predictions(const std::string& path, std::vector<size_t>* line_numbers) {
  std::vector<std::string> predictions;
  if (line_numbers) line_numbers->clear();
  for_each_json_line(path, [&](const nlohmann::json& object, size_t line) {
    if (line_numbers) line_numbers->push_back(line);
    predictions.push_back(string_field(object, "prediction", path, line));
  });
  return predictions;
}

std::string format_prediction(const std::string& prediction) { return "{\"prediction\": " + quoted(prediction) + "}"; }

std::string predictions_jsonl(const std::vector<std::string>& predictions) {
  std::string text;
  for (const auto& prediction : predictions) text += format_prediction(prediction) + "\n";
  return text;
}

void write_predictions(const std::string& path, const std::vector<std::string>& predictions) {
  write_file_atomically(path, predictions_jsonl(predictions));
}

}  // namespace stepwise::tasks
