// OpenAI response bodies and stream events.
#include "experiments/serve/openai_response.h"

#include <atomic>
#include <chrono>

namespace stepwise::serve {
namespace {

using nlohmann::json;

json usage_of(const CompletionOutput& output) {
  return json{{"prompt_tokens", output.prompt_tokens},
              {"completion_tokens", output.completion_tokens},
              {"total_tokens", output.prompt_tokens + output.completion_tokens}};
}

json timings_of(const CompletionOutput& output) {
  return json{{"ttft_s", output.ttft_s}, {"total_s", output.total_s}, {"batch_rows", output.batch_rows}};
}

json chunk(Endpoint endpoint, const ResponseHeader& header) {
  json body;
  body["id"] = header.id;
  body["object"] = endpoint == Endpoint::kChatCompletions ? "chat.completion.chunk" : "text_completion";
  body["created"] = header.created;
  body["model"] = header.model;
  return body;
}

json choice_delta(Endpoint endpoint, size_t index, const json& delta, const json& finish_reason) {
  json choice;
  choice["index"] = index;
  if (endpoint == Endpoint::kChatCompletions) {
    choice["delta"] = delta;
  } else {
    choice["text"] = delta.value("content", "");
    choice["logprobs"] = nullptr;
  }
  choice["finish_reason"] = finish_reason;
  return choice;
}

std::string event(const json& body) { return "data: " + dump_json(body) + "\n\n"; }

}  // namespace

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ResponseHeader new_response_header(Endpoint endpoint, const std::string& model) {
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  ResponseHeader header;
  header.created = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  header.id = std::string(endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-") +
              std::to_string(header.created) + "-" + std::to_string(counter.fetch_add(1));
  header.model = model;
  return header;
}

json completion_body(Endpoint endpoint, const ResponseHeader& header, const CompletionOutput& output) {
  json body;
  body["id"] = header.id;
  body["object"] = endpoint == Endpoint::kChatCompletions ? "chat.completion" : "text_completion";
  body["created"] = header.created;
  body["model"] = header.model;
  json choices = json::array();
  for (size_t i = 0; i < output.choices.size(); ++i) {
    const ChoiceOutput& result = output.choices[i];
    json choice;
    choice["index"] = i;
    if (endpoint == Endpoint::kChatCompletions) {
      choice["message"] = json{{"role", "assistant"}, {"content", result.text}};
    } else {
      choice["text"] = result.text;
      choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = result.finish_reason;
    choice["token_ids"] = result.tokens;
    choices.push_back(choice);
  }
  body["choices"] = choices;
  body["usage"] = usage_of(output);
  body["timings"] = timings_of(output);
  return body;
}

std::string stream_role_event(Endpoint endpoint, const ResponseHeader& header, size_t choice) {
  json body = chunk(endpoint, header);
  body["choices"] = json::array({choice_delta(endpoint, choice, json{{"role", "assistant"}, {"content", ""}}, nullptr)});
  return event(body);
}

std::string stream_piece_event(Endpoint endpoint, const ResponseHeader& header, size_t choice, const std::string& piece) {
  json body = chunk(endpoint, header);
  body["choices"] = json::array({choice_delta(endpoint, choice, json{{"content", piece}}, nullptr)});
  return event(body);
}

std::vector<std::string> stream_closing_events(Endpoint endpoint, const ResponseHeader& header,
                                               const CompletionOutput& output, bool include_usage) {
  std::vector<std::string> events;
  const bool chat = endpoint == Endpoint::kChatCompletions;
  for (size_t i = 0; i < output.choices.size(); ++i) {
    json body = chunk(endpoint, header);
    body["choices"] = json::array({choice_delta(endpoint, i, chat ? json::object() : json{{"content", ""}},
                                                output.choices[i].finish_reason)});
    events.push_back(event(body));
  }
  if (include_usage) {
    json body = chunk(endpoint, header);
    body["choices"] = json::array();
    body["usage"] = usage_of(output);
    body["timings"] = timings_of(output);
    events.push_back(event(body));
  }
  events.push_back("data: [DONE]\n\n");
  return events;
}

std::string stream_error_events(const ApiError& error) { return event(error.body()) + "data: [DONE]\n\n"; }

json models_body(const std::vector<std::string>& models, int64_t created) {
  json data = json::array();
  for (const std::string& model : models)
    data.push_back(json{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "stepwise"}});
  return json{{"object", "list"}, {"data", data}};
}

}  // namespace stepwise::serve
