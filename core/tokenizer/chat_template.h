// Chat templates: the Jinja programs Hugging Face tokenizers and GGUF files carry to turn a conversation
// into a prompt. ChatTemplate parses one (the subset of Jinja that Qwen2.5, Qwen3 and LLaMA-3 templates
// use, docs/chat_templates.md) and renders it with Jinja's semantics and Hugging Face's settings
// (trim_blocks, lstrip_blocks, tojson without ASCII escaping). Anything outside the subset is an error
// naming the template, line and column. Torch-free.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace stepwise {

// The variables a chat prompt is rendered with, besides messages and the special tokens.
struct ChatOptions {
  bool add_generation_prompt = true;  // end with the header of the assistant's turn
  std::optional<bool> enable_thinking;  // passed only when set (Qwen3: false closes an empty <think>)
  std::optional<nlohmann::ordered_json> tools;  // tool schemas; unset passes tools = none
  std::optional<nlohmann::ordered_json> extra_variables;  // an object of more variables (date_string, ...)
};

class ChatTemplate {
 public:
  // Parses `source`; `where` names it in errors ("model.gguf: tokenizer.chat_template").
  ChatTemplate(const std::string& source, std::string where);
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // Renders with `variables`, a JSON object (messages, add_generation_prompt, bos_token, ...).
  std::string render(const nlohmann::ordered_json& variables) const;

  // The prompt for `messages` (a JSON array of {"role", "content", ...}) with the variables Hugging Face's
  // apply_chat_template passes: messages, tools, add_generation_prompt, the special tokens given here
  // (an absent one stays undefined), enable_thinking when set, and the extra variables.
  std::string render_chat(const nlohmann::ordered_json& messages, const ChatOptions& options,
                          const std::optional<std::string>& bos_token,
                          const std::optional<std::string>& eos_token) const;

  const std::string& where() const;

 private:
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;
};

// Checks that `messages` is a non-empty array of objects, each with a string "role"; errors name `where`
// and the message index.
void check_chat_messages(const nlohmann::ordered_json& messages, const std::string& where);

}  // namespace stepwise
