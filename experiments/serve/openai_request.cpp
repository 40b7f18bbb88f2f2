// Strict reading of OpenAI request bodies: each accepted field has one check, and everything else is an
// error naming the field.
#include "experiments/serve/openai_request.h"

#include <limits>
#include <set>

#include "core/error.h"
#include "core/json_input.h"
#include "experiments/runner/decoder_keys.h"

namespace stepwise::serve {
namespace {

using nlohmann::json;

constexpr int64_t kMaxChoices = 16;
constexpr size_t kMaxStopStrings = 4;

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, param.empty() ? message : param + ": " + message, "invalid_request_error", param);
}

std::string type_name(const json& value) { return value.type_name(); }

int64_t integer_field(const json& value, const std::string& param, int64_t low, int64_t high) {
  if (!value.is_number_integer()) bad(param, "expected an integer, got " + type_name(value));
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(high))
    bad(param, "expected at most " + std::to_string(high));
  const int64_t number = value.get<int64_t>();
  if (number < low || number > high)
    bad(param, "expected " + std::to_string(low) + " to " + std::to_string(high) + ", got " + std::to_string(number));
  return number;
}

bool bool_field(const json& value, const std::string& param) {
  if (!value.is_boolean()) bad(param, "expected true or false, got " + type_name(value));
  return value.get<bool>();
}

std::string string_field(const json& value, const std::string& param) {
  if (!value.is_string()) bad(param, "expected a string, got " + type_name(value));
  return value.get<std::string>();
}

std::vector<int64_t> token_ids(const json& list, const std::string& param) {
  std::vector<int64_t> ids;
  for (size_t i = 0; i < list.size(); ++i)
    ids.push_back(integer_field(list[i], param + "[" + std::to_string(i) + "]", 0, std::numeric_limits<int32_t>::max()));
  return ids;
}

// "prompt": text, token ids, or a list of one of either (one prompt per request).
void read_prompt(const json& prompt, ApiRequest& request) {
  if (prompt.is_string()) {
    request.prompt_text = prompt.get<std::string>();
  } else if (prompt.is_array() && !prompt.empty() && prompt[0].is_number()) {
    request.prompt_ids = token_ids(prompt, "prompt");
  } else if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_string()) {
    request.prompt_text = prompt[0].get<std::string>();
  } else if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_array() && !prompt[0].empty()) {
    request.prompt_ids = token_ids(prompt[0], "prompt[0]");
  } else if (prompt.is_array() && prompt.size() > 1 && (prompt[0].is_string() || prompt[0].is_array())) {
    bad("prompt", "one prompt per request (got " + std::to_string(prompt.size()) + "); send them as separate requests");
  } else {
    bad("prompt", "expected a string, a list of token ids, or a list holding one of either");
  }
  if (request.prompt_text && request.prompt_text->empty()) bad("prompt", "the prompt is empty");
}

// "content": a string, null (an assistant turn with tool calls), or a list of {"type": "text", "text"} parts.
json message_content(const json& content, const std::string& param) {
  if (content.is_string() || content.is_null()) return content;
  if (!content.is_array()) bad(param, "expected a string or a list of text parts, got " + type_name(content));
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_param = param + "[" + std::to_string(i) + "]";
    const json& part = content[i];
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text"))
      bad(part_param, "only {\"type\": \"text\", \"text\": ...} parts are supported");
    text += string_field(part["text"], part_param + ".text");
  }
  return text;
}

void read_messages(const json& messages, ApiRequest& request) {
  if (!messages.is_array() || messages.empty()) bad("messages", "expected a non-empty list of messages");
  static const std::set<std::string> kRoles{"system", "developer", "user", "assistant", "tool"};
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json& message = messages[i];
    if (!message.is_object()) bad(param, "expected an object with role and content");
    if (!message.contains("role")) bad(param + ".role", "missing");
    const std::string role = string_field(message["role"], param + ".role");
    if (!kRoles.count(role)) bad(param + ".role", "unknown role '" + role + "'");
    nlohmann::ordered_json turn;
    turn["role"] = role == "developer" ? "system" : role;
    turn["content"] = message_content(message.value("content", json()), param + ".content");
    for (const auto& [key, value] : message.items()) {
      if (key == "role" || key == "content") continue;
      if (key != "name" && key != "tool_calls" && key != "tool_call_id") bad(param + "." + key, "unknown field");
      turn[key] = value;
    }
    request.messages.push_back(turn);
  }
}

// A decoder setting sent as a body key: a scalar or a list, checked against its strategy when applied.
void read_decoder_setting(const std::string& key, const json& value, ApiRequest& request) {
  if (value.is_object() || value.is_null()) bad(key, "expected a number, string, boolean or list");
  request.decoder_settings[key] = value;
}

bool is_body_decoder_key(const std::string& key) {
  const runner::DecoderKey* setting = runner::find_decoder_key(key);
  // gen_length is max_tokens; draft_model names a checkpoint on the server's disk, so only its flags choose it.
  return setting != nullptr && setting->form != runner::FlagForm::kNone && key != "gen_length" && key != "draft_model";
}

}  // namespace

nlohmann::json ApiError::body() const {
  json error;
  error["message"] = what();
  error["type"] = type_;
  error["param"] = param_.empty() ? json() : json(param_);
  error["code"] = code_.empty() ? json() : json(code_);
  return json{{"error", error}};
}

ApiRequest parse_api_request(Endpoint endpoint, const std::string& body) {
  json root;
  try {
    root = parse_json_input(body, "the body");
  } catch (const Error& e) {  // not JSON, or nested too deeply
    bad("", e.what());
  }
  if (!root.is_object()) bad("", "the body must be a JSON object");
  ApiRequest request;
  request.endpoint = endpoint;
  const bool chat = endpoint == Endpoint::kChatCompletions;
  for (const auto& [key, value] : root.items()) {
    if (key == "model") {
      request.model = string_field(value, key);
    } else if (key == "prompt" && !chat) {
      read_prompt(value, request);
    } else if (key == "messages" && chat) {
      read_messages(value, request);
    } else if (key == "tools" && chat) {
      if (!value.is_array()) bad(key, "expected a list of tool schemas");
      if (!value.empty()) request.tools = value;
    } else if (key == "chat_template_kwargs" && chat) {
      if (!value.is_object()) bad(key, "expected an object");
      for (const auto& [name, setting] : value.items()) {
        if (name != "enable_thinking") bad(key + "." + name, "unknown template variable (enable_thinking is supported)");
        request.enable_thinking = bool_field(setting, key + "." + name);
      }
    } else if (key == "max_tokens" || (key == "max_completion_tokens" && chat)) {
      if (!value.is_null()) request.max_tokens = integer_field(value, key, 1, std::numeric_limits<int32_t>::max());
    } else if (key == "n") {
      request.n = integer_field(value, key, 1, kMaxChoices);
    } else if (key == "seed") {
      if (!value.is_null())
        request.seed = static_cast<uint64_t>(integer_field(value, key, 0, std::numeric_limits<int64_t>::max()));
    } else if (key == "stop") {
      if (value.is_string()) {
        request.stop = {value.get<std::string>()};
      } else if (value.is_array() && value.size() <= kMaxStopStrings) {
        for (size_t i = 0; i < value.size(); ++i) request.stop.push_back(string_field(value[i], "stop[" + std::to_string(i) + "]"));
      } else if (!value.is_null()) {
        bad(key, "expected a string or a list of up to 4 strings");
      }
      for (const std::string& text : request.stop)
        if (text.empty()) bad(key, "a stop string is empty");
    } else if (key == "stream") {
      request.stream = bool_field(value, key);
    } else if (key == "stream_options") {
      if (value.is_null()) continue;
      if (!value.is_object()) bad(key, "expected an object");
      for (const auto& [name, setting] : value.items()) {
        if (name != "include_usage") bad(key + "." + name, "unknown field");
        request.include_usage = bool_field(setting, key + "." + name);
      }
    } else if (key == "temperature" || key == "top_p") {
      if (value.is_null()) continue;
      if (!value.is_number()) bad(key, "expected a number, got " + type_name(value));
      request.decoder_settings[key] = value;
    } else if (key == "top_k") {
      if (!value.is_null()) request.decoder_settings[key] = value;
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
      if (!value.is_null() && !(value.is_number() && value.get<double>() == 0.0)) bad(key, "only 0 is supported");
    } else if (key == "logprobs" || key == "echo") {
      if (!value.is_null() && !(value.is_boolean() && !value.get<bool>()) && !(value.is_number() && value.get<double>() == 0))
        bad(key, "not supported");
    } else if (key == "logit_bias") {
      if (!value.is_null() && !(value.is_object() && value.empty())) bad(key, "not supported");
    } else if (key == "user") {
      string_field(value, key);
    } else if (is_body_decoder_key(key)) {
      read_decoder_setting(key, value, request);
    } else {
      bad(key, "unknown field");
    }
  }
  if (request.model.empty()) bad("model", "missing (GET /v1/models lists the served model)");
  if (chat && request.messages.empty()) bad("messages", "missing");
  if (!chat && !request.prompt_text && !request.prompt_ids) bad("prompt", "missing");
  return request;
}

}  // namespace stepwise::serve
