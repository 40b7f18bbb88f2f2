// Tokenizer lookup and the Qwen chat wrapper.
#include "experiments/cli/text_prompt.h"

#include <filesystem>

#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/error.h"

namespace stepwise::cli {

std::unique_ptr<BpeTokenizer> load_model_tokenizer(const std::string& model_dir,
                                                   const std::optional<std::string>& tokenizer_file) {
  if (!tokenizer_file && is_gguf_path(model_dir)) return std::make_unique<BpeTokenizer>(load_bpe_tokenizer(model_dir));
  const std::string path =
      tokenizer_file.value_or((std::filesystem::path(model_dir) / "tokenizer.json").string());
  check(std::filesystem::exists(path), path, ": no tokenizer.json (text prompts need the model's tokenizer; give ",
        "--tokenizer FILE or use --ids)");
  return std::make_unique<BpeTokenizer>(load_bpe_tokenizer(path));
}

std::string qwen_chat_prompt(const std::string& user_text, const std::optional<std::string>& system_text) {
  std::string prompt;
  if (system_text) prompt += "<|im_start|>system\n" + *system_text + "<|im_end|>\n";
  prompt += "<|im_start|>user\n" + user_text + "<|im_end|>\n<|im_start|>assistant\n";
  return prompt;
}

}  // namespace stepwise::cli
