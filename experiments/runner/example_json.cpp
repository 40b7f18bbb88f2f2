// JSON fields of an ExampleRecord.
#include "experiments/runner/example_json.h"

#include <algorithm>
#include <type_traits>

#include "core/error.h"

namespace stepwise::runner {
namespace {

template <typename T>
T field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto found = object.find(key);
  check(found != object.end(), where, ": missing field '", key, "'");
  // Integer fields must hold JSON integers: converting a float is undefined behaviour when out of range.
  const auto is_integer = [](const nlohmann::json& value) { return value.is_number_integer(); };
  if constexpr (std::is_same_v<T, int64_t>) {
    check(is_integer(*found), where, ": field '", key, "' must be an integer");
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    check(found->is_array() && std::all_of(found->begin(), found->end(), is_integer), where, ": field '", key,
          "' must be a list of integers");
  }
  try {
    return found->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where, ": field '", key, "' has the wrong type");
  }
}

}  // namespace

nlohmann::ordered_json example_to_json(const ExampleRecord& example) {
  nlohmann::ordered_json object;
  object["index"] = example.index;
  object["prompt"] = example.prompt;
  object["reference"] = example.reference;
  object["prediction"] = example.prediction;
  object["correct"] = example.correct;
  object["forward_calls"] = example.forward_calls;
  object["generated_tokens"] = example.generated_tokens;
  object["wall_s"] = example.wall_s;
  object["first_token_s"] = example.first_token_s;
  object["ttft_s"] = example.ttft_s;
  object["commit_step"] = example.commit_step;
  return object;
}

ExampleRecord example_from_json(const nlohmann::json& object, const std::string& where) {
  check(object.is_object(), where, ": expected a JSON object for an example");
  ExampleRecord example;
  example.index = field<int64_t>(object, "index", where);
  example.prompt = field<std::string>(object, "prompt", where);
  example.reference = field<std::string>(object, "reference", where);
  example.prediction = field<std::string>(object, "prediction", where);
  example.correct = field<bool>(object, "correct", where);
  example.forward_calls = field<int64_t>(object, "forward_calls", where);
  example.generated_tokens = field<int64_t>(object, "generated_tokens", where);
  example.wall_s = field<double>(object, "wall_s", where);
  example.first_token_s = field<double>(object, "first_token_s", where);
  // Journals written before ttft_s existed lack it: 0.
  if (object.contains("ttft_s")) example.ttft_s = field<double>(object, "ttft_s", where);
  example.commit_step = field<std::vector<int64_t>>(object, "commit_step", where);
  return example;
}

std::string dump_json_line(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace stepwise::runner
