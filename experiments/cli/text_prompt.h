// Text in, text out for `stepwise generate`: finds the tokenizer that belongs to a checkpoint
// (DIR/tokenizer.json, or the one inside a GGUF file, unless another file is given) and gathers the
// conversation a chat prompt is rendered from (--messages FILE, --system, --prompt); the rendering itself
// is core/tokenizer/model_chat_template.h.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/tokenizer/bpe_tokenizer.h"

namespace stepwise::cli {

// `tokenizer_file` when given (a tokenizer.json or a .gguf file), else the tokenizer inside a .gguf model
// file, else MODEL_DIR/tokenizer.json; a clear error when there is none.
std::unique_ptr<BpeTokenizer> load_model_tokenizer(const std::string& model_dir,
                                                   const std::optional<std::string>& tokenizer_file);

// A conversation and the tools offered with it.
struct ChatInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::optional<nlohmann::ordered_json> tools;
};

// The messages of `messages_file` (a JSON array of {"role", "content", ...} objects, or an object with
// "messages" and optionally "tools"), after a system message `system_text` and before a user message
// `user_text`, each when given. Errors name the file and the message.
ChatInput read_chat_input(const std::optional<std::string>& messages_file, const std::optional<std::string>& system_text,
                          const std::optional<std::string>& user_text);

}  // namespace stepwise::cli
