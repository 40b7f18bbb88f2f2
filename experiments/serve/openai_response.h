// The JSON bodies the server answers with: completions and chat completions whole, their stream chunks
// (server-sent events: `data: {...}\n\n`, closed by `data: [DONE]\n\n`) and the model list. Text that
// is not valid UTF-8 is written with U+FFFD in its place. Torch-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiments/serve/openai_request.h"
#include "experiments/serve/serve_engine.h"

namespace stepwise::serve {

// Identifies one response: its id ("cmpl-..." / "chatcmpl-..."), creation time and model name.
struct ResponseHeader {
  std::string id;
  int64_t created = 0;
  std::string model;
};

ResponseHeader new_response_header(Endpoint endpoint, const std::string& model);

// The whole response of a non-streaming request. Besides OpenAI's fields: each choice's `token_ids`, and
// `timings` {ttft_s, total_s, batch_rows} of the request on the server.
nlohmann::json completion_body(Endpoint endpoint, const ResponseHeader& header, const CompletionOutput& output);

// Every event of a streaming response, in order, each as "data: JSON\n\n", ending with "data: [DONE]\n\n":
// chat opens each choice with its role; one event per piece; then each choice's finish_reason; then the
// usage when asked for.
std::vector<std::string> stream_events(Endpoint endpoint, const ResponseHeader& header, const CompletionOutput& output,
                                       bool include_usage);

nlohmann::json models_body(const std::string& model, int64_t created);

// JSON text with invalid UTF-8 replaced.
std::string dump_json(const nlohmann::json& value);

}  // namespace stepwise::serve
