// JSON parsing with a nesting limit: a parser callback counts the depth of each opened object or array.
#include "core/json_input.h"

#include "core/error.h"

namespace stepwise {
namespace {

struct TooDeep {};  // thrown out of the parser callback; never leaves this file

template <typename Json>
Json parse_limited(std::string_view text) {
  const typename Json::parser_callback_t limit = [](int depth, nlohmann::json::parse_event_t event, Json&) {
    // `depth` counts the containers around the one being opened.
    const bool opens = event == nlohmann::json::parse_event_t::object_start ||
                       event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) throw TooDeep{};
    return true;
  };
  return Json::parse(text.begin(), text.end(), limit);
}

template <typename Json>
Json parse_or_fail(std::string_view text, const std::string& source) {
  try {
    return parse_limited<Json>(text);
  } catch (const TooDeep&) {
    fail(source, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
  } catch (const nlohmann::json::exception& e) {  // syntax errors and out-of-range numbers (1E681614)
    fail(source, ": not valid JSON (", e.what(), ")");
  }
}

}  // namespace

nlohmann::json parse_json_input(std::string_view text, const std::string& source) {
  return parse_or_fail<nlohmann::json>(text, source);
}

nlohmann::ordered_json parse_ordered_json_input(std::string_view text, const std::string& source) {
  return parse_or_fail<nlohmann::ordered_json>(text, source);
}

std::optional<nlohmann::json> parse_json_input_or_none(std::string_view text) {
  try {
    return parse_limited<nlohmann::json>(text);
  } catch (const TooDeep&) {
    return std::nullopt;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace stepwise
