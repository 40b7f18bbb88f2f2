// Text in, text out for `stepwise generate`: finds the tokenizer that belongs to a checkpoint
// (DIR/tokenizer.json, or the one inside a GGUF file, unless another file is given), optionally wraps the prompt in the Qwen chat
// format (<|im_start|>user ... <|im_end|> <|im_start|>assistant), and turns generated ids into text.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/tokenizer/bpe_tokenizer.h"

namespace stepwise::cli {

// `tokenizer_file` when given (a tokenizer.json or a .gguf file), else the tokenizer inside a .gguf model
// file, else MODEL_DIR/tokenizer.json; a clear error when there is none.
std::unique_ptr<BpeTokenizer> load_model_tokenizer(const std::string& model_dir,
                                                   const std::optional<std::string>& tokenizer_file);

// The single-turn Qwen chat prompt for `user_text`, ready for the assistant's answer.
std::string qwen_chat_prompt(const std::string& user_text, const std::optional<std::string>& system_text);

}  // namespace stepwise::cli
