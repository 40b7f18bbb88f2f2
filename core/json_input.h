// Parsing JSON that comes from outside the program (files, request bodies, metadata stored in files)
// with a nesting limit. nlohmann's parser is iterative, but printing, comparing and copying a value
// recurse once per level, so a few kilobytes of brackets would exhaust the stack the first time such a
// value is shown in an error message. Every value deeper than kMaxJsonDepth levels is refused at parse
// time instead; no file stepwise reads comes anywhere near it. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace stepwise {

// Objects and arrays may nest this many levels (the outermost value is level 1).
inline constexpr int kMaxJsonDepth = 128;

// Parses `text` as one JSON value. Throws stepwise::Error "<source>: not valid JSON (...)" or
// "<source>: JSON nested deeper than 128 levels".
nlohmann::json parse_json_input(std::string_view text, const std::string& source);
nlohmann::ordered_json parse_ordered_json_input(std::string_view text, const std::string& source);

// The parsed value, or nullopt when `text` is not valid JSON or nests too deeply (for readers that
// treat a bad line as torn rather than as an error).
std::optional<nlohmann::json> parse_json_input_or_none(std::string_view text);

}  // namespace stepwise
