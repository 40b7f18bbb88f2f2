// The body of an OpenAI-style POST /v1/completions or /v1/chat/completions request, read strictly: every
// field is checked for its type and range, unknown fields are refused, and the decoder settings a body
// may carry (the keys of experiment files' decoder blocks but gen_length and draft_model: steps, alg,
// threshold, draft_length, ...; and the sampling fields temperature, top_p, top_k) are collected for the
// server to apply as `--set` would.
// Any problem is an ApiError that becomes an HTTP status with an OpenAI-style error body. Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace stepwise::serve {

// An error the client caused (or a server state it met: a full queue, a shutdown), as OpenAI reports it.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string type = "invalid_request_error", std::string param = "",
           std::string code = "")
      : std::runtime_error(message), status_(status), type_(std::move(type)), param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  // {"error": {"message", "type", "param", "code"}}; param and code are null when empty.
  nlohmann::json body() const;

 private:
  int status_;
  std::string type_;
  std::string param_;
  std::string code_;
};

enum class Endpoint { kCompletions, kChatCompletions };

struct ApiRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;
  // Completions: the prompt as text or as token ids (exactly one is set).
  std::optional<std::string> prompt_text;
  std::optional<std::vector<int64_t>> prompt_ids;
  // Chat: the conversation, the tools offered and the template switch enable_thinking.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::optional<nlohmann::ordered_json> tools;
  std::optional<bool> enable_thinking;
  std::optional<int64_t> max_tokens;  // absent: the server's default
  int64_t n = 1;                      // choices, decoded as rows of one batch with seeds seed, seed + 1, ...
  uint64_t seed = 0;
  std::vector<std::string> stop;  // up to 4 stop strings
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
  // Decoder settings by their experiment-file key, values as sent (JSON is YAML flow syntax).
  std::map<std::string, nlohmann::json> decoder_settings;
};

// Parses `body` for `endpoint`; throws ApiError (status 400) naming the field.
ApiRequest parse_api_request(Endpoint endpoint, const std::string& body);

}  // namespace stepwise::serve
