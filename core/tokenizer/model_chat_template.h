// The chat template that belongs to a checkpoint, ready to render conversations: a GGUF file's
// tokenizer.chat_template (with the texts of its bos / eos token ids), or a Hugging Face directory's
// chat_template.jinja or tokenizer_config.json "chat_template" (with its bos_token / eos_token). A model
// without one gets the built-in ChatML format (<|im_start|>ROLE\n...<|im_end|>\n), the Qwen family's.
// What `stepwise generate --chat` renders, and what a server renders per request. Torch-free.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/tokenizer/chat_template.h"

namespace stepwise {

// A checkpoint's chat template as stored, with its special tokens.
struct ChatTemplateSource {
  std::string text;
  std::string where;  // "model.gguf: tokenizer.chat_template", "DIR/chat_template.jinja", ...
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
};

// The template of the .gguf file or checkpoint directory `path` (for a tokenizer.json, of the directory
// it is in), or nullopt when there is none.
std::optional<ChatTemplateSource> read_chat_template_source(const std::string& path);

class ModelChatTemplate {
 public:
  // `model_path`: a .gguf file or a checkpoint directory. When it has no template and a separate
  // tokenizer file is given (a .gguf file, or a tokenizer.json beside a tokenizer_config.json), that
  // file's template is used. Errors (unreadable files, a template outside the supported subset) name the
  // file and, for templates, the line and column.
  explicit ModelChatTemplate(const std::string& model_path, const std::optional<std::string>& tokenizer_path = {});

  // False when the built-in ChatML format stands in for a missing template.
  bool has_own_template() const { return own_template_; }
  // Where the template came from ("model.gguf: tokenizer.chat_template", "the built-in ChatML format").
  const std::string& origin() const { return template_.where(); }

  // The prompt text for `messages` (checked: an array of objects with a string "role").
  std::string render(const nlohmann::ordered_json& messages, const ChatOptions& options) const;

 private:
  ChatTemplate template_;
  bool own_template_ = false;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

// The built-in ChatML template (for models without their own).
const std::string& builtin_chat_template();

}  // namespace stepwise
