// ExampleRecord <-> JSON object with every field, as the run journal stores it. Texts that are not
// valid UTF-8 have their bad bytes replaced by U+FFFD when dumped; everything else round-trips exactly
// (doubles are printed with enough digits to read back bit for bit).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "experiments/runner/run_record.h"

namespace stepwise::runner {

nlohmann::ordered_json example_to_json(const ExampleRecord& example);
// Throws stepwise::Error naming `where` (e.g. "journal.jsonl:12") when a field is missing or mistyped.
// ttft_s may be missing (lines written before it existed): it reads as 0.
ExampleRecord example_from_json(const nlohmann::json& object, const std::string& where);

// One line of JSON without a trailing newline, invalid UTF-8 replaced.
std::string dump_json_line(const nlohmann::ordered_json& value);

}  // namespace stepwise::runner
