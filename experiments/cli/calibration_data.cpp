// Calibration files: records, id lists or text, each line checked and named by its number.
#include "experiments/cli/calibration_data.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"
#include "experiments/tasks/plain_format.h"

namespace stepwise::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<int64_t> encode_text(const std::string& text, const Tokenizer* tokenizer, const std::string& where) {
  check(tokenizer != nullptr, where, ": text calibration needs the model's tokenizer (DIR/tokenizer.json or --tokenizer)");
  return tokenizer->encode(text);
}

// source [SEP] target [EOS] of a task record, in the plain character format of models trained here.
std::vector<int64_t> record_ids(const tasks::TaskRecord& record) {
  static const CharTokenizer characters;
  const tasks::PlainEncoding encoded = tasks::encode_plain(record, characters);
  std::vector<int64_t> ids = encoded.source_ids;
  ids.insert(ids.end(), encoded.target_ids.begin(), encoded.target_ids.end());
  return ids;
}

// The sequences after request.skip, at most request.samples of them, all cut to the shortest one's length
// (at most request.seq_len), every id checked against the vocabulary; `records` come from request.path.
std::vector<std::vector<int64_t>> select_sequences(const std::vector<std::vector<int64_t>>& records,
                                                   const CalibrationRequest& request) {
  const auto skip = static_cast<size_t>(std::max<int64_t>(0, request.skip));
  check(records.size() > skip, request.path, ": ", records.size(), " sequences (text gives one per ", request.seq_len,
        " tokens), none left after skipping ", skip);
  std::vector<std::vector<int64_t>> out(records.begin() + static_cast<std::ptrdiff_t>(skip), records.end());
  if (out.size() > static_cast<size_t>(request.samples)) out.resize(static_cast<size_t>(request.samples));
  size_t length = static_cast<size_t>(request.seq_len);
  for (const auto& ids : out) length = std::min(length, ids.size());
  check(length >= 1, request.path, ": an empty sequence");
  for (auto& ids : out) {
    ids.resize(length);
    for (int64_t id : ids)
      check(id >= 0 && id < request.vocab_size, request.path, ": token id ", id, " is outside the vocabulary [0, ",
            request.vocab_size, ")");
  }
  return out;
}

void check_sizes(const CalibrationRequest& request) {
  check(request.samples >= 1, "--samples must be at least 1, got ", request.samples);
  check(request.seq_len >= 1, "--seq-len must be at least 1, got ", request.seq_len);
}

}  // namespace

std::vector<std::vector<int64_t>> task_calibration(const std::vector<tasks::TaskRecord>& problems,
                                                   const CalibrationRequest& request) {
  check_sizes(request);
  std::vector<std::vector<int64_t>> records;
  records.reserve(problems.size());
  for (const tasks::TaskRecord& problem : problems) records.push_back(record_ids(problem));
  return select_sequences(records, request);
}

std::vector<std::vector<int64_t>> read_calibration(const CalibrationRequest& request, const Tokenizer* tokenizer) {
  check_sizes(request);
  const std::string text = read_regular_file(request.path);
  std::vector<std::vector<int64_t>> records;  // one sequence per record
  std::vector<int64_t> stream;                // text, cut into chunks below
  if (ends_with(request.path, ".jsonl")) {
    std::istringstream lines(text);
    std::string line;
    for (size_t number = 1; std::getline(lines, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = request.path + ":" + std::to_string(number);
      const nlohmann::json json = parse_json_input(line, where);
      check(json.is_object(), where, ": expected a JSON object");
      if (json.contains("ids")) {
        check(json["ids"].is_array(), where, ": 'ids' must be a list of integers");
        std::vector<int64_t> ids;
        for (const auto& id : json["ids"]) {
          check(id.is_number_integer(), where, ": 'ids' must be a list of integers, got ", id.dump());
          ids.push_back(id.get<int64_t>());
        }
        records.push_back(std::move(ids));
      } else if (json.contains("input") && json.contains("output")) {
        check(json["input"].is_string() && json["output"].is_string(), where, ": 'input' and 'output' must be strings");
        records.push_back(record_ids(tasks::TaskRecord{json["input"].get<std::string>(), json["output"].get<std::string>()}));
      } else if (json.contains("text")) {
        check(json["text"].is_string(), where, ": 'text' must be a string");
        const std::vector<int64_t> ids = encode_text(json["text"].get<std::string>(), tokenizer, where);
        stream.insert(stream.end(), ids.begin(), ids.end());
      } else {
        fail(where, ": expected \"ids\", \"text\" or \"input\" and \"output\"");
      }
    }
  } else {
    stream = encode_text(text, tokenizer, request.path);
  }
  for (size_t start = 0; start + static_cast<size_t>(request.seq_len) <= stream.size();
       start += static_cast<size_t>(request.seq_len))
    records.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(start),
                         stream.begin() + static_cast<std::ptrdiff_t>(start + static_cast<size_t>(request.seq_len)));
  return select_sequences(records, request);
}

}  // namespace stepwise::cli
