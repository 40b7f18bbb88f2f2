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

// The events of a streaming response, each "data: JSON\n\n", sent as the decode goes: for chat, each
// choice opens with its role (stream_role_event); then one event per text piece of a choice; then
// stream_closing_events: each choice's finish_reason, the usage when asked for, and "data: [DONE]\n\n".
std::string stream_role_event(Endpoint endpoint, const ResponseHeader& header, size_t choice);
std::string stream_piece_event(Endpoint endpoint, const ResponseHeader& header, size_t choice, const std::string& piece);
std::vector<std::string> stream_closing_events(Endpoint endpoint, const ResponseHeader& header,
                                               const CompletionOutput& output, bool include_usage);
// An error that ended a stream after its headers were sent: the OpenAI error body as an event, then [DONE].
std::string stream_error_events(const ApiError& error);

// The model list: one entry per name requests may give.
nlohmann::json models_body(const std::vector<std::string>& models, int64_t created);

// JSON text with invalid UTF-8 replaced.
std::string dump_json(const nlohmann::json& value);

}  // namespace stepwise::serve
