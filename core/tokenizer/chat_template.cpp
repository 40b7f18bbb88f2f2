// ChatTemplate: parse once, render many times; the variables of a chat prompt as Hugging Face passes them.
#include "core/tokenizer/chat_template.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/tokenizer/chat_template_syntax.h"

namespace stepwise {

struct ChatTemplate::Parsed {
  std::string where;
  chat_template::Body body;
};

ChatTemplate::ChatTemplate(const std::string& source, std::string where) : parsed_(std::make_unique<Parsed>()) {
  parsed_->where = std::move(where);
  parsed_->body = chat_template::parse_template(source, parsed_->where);
}

ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

const std::string& ChatTemplate::where() const { return parsed_->where; }

namespace {

// Nesting past this in the variables is refused: converting them recurses once per level.
constexpr size_t kMaxVariableNesting = 512;

size_t nesting_of(const nlohmann::ordered_json& json) {
  size_t deepest = 0;
  std::vector<std::pair<const nlohmann::ordered_json*, size_t>> pending{{&json, 1}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    deepest = std::max(deepest, depth);
    if (depth > kMaxVariableNesting) break;
    if (node->is_array() || node->is_object())
      for (const auto& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return deepest;
}

}  // namespace

std::string ChatTemplate::render(const nlohmann::ordered_json& variables) const {
  check(variables.is_object(), parsed_->where, ": the variables of a template must be a JSON object");
  check(nesting_of(variables) <= kMaxVariableNesting, parsed_->where, ": the variables nest deeper than ",
        kMaxVariableNesting, " levels");
  return chat_template::render_template(parsed_->body, parsed_->where, chat_template::value_from_json(variables));
}

std::string ChatTemplate::render_chat(const nlohmann::ordered_json& messages, const ChatOptions& options,
                                      const std::optional<std::string>& bos_token,
                                      const std::optional<std::string>& eos_token) const {
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  variables["messages"] = messages;
  variables["tools"] = options.tools ? *options.tools : nlohmann::ordered_json();
  variables["add_generation_prompt"] = options.add_generation_prompt;
  if (bos_token) variables["bos_token"] = *bos_token;
  if (eos_token) variables["eos_token"] = *eos_token;
  if (options.enable_thinking) variables["enable_thinking"] = *options.enable_thinking;
  if (options.extra_variables) {
    check(options.extra_variables->is_object(), parsed_->where, ": extra template variables must be a JSON object");
    for (const auto& [key, value] : options.extra_variables->items()) variables[key] = value;
  }
  return render(variables);
}

void check_chat_messages(const nlohmann::ordered_json& messages, const std::string& where) {
  check(messages.is_array(), where, ": messages must be a JSON array of {\"role\", \"content\"} objects");
  check(!messages.empty(), where, ": there are no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& message = messages[i];
    check(message.is_object(), where, ": message ", i, " is not an object");
    check(message.contains("role") && message["role"].is_string(), where, ": message ", i,
          " has no string \"role\"");
  }
}

}  // namespace stepwise
