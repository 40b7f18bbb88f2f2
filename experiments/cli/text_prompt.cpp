// Tokenizer lookup and the conversation of a chat prompt.
#include "experiments/cli/text_prompt.h"

#include <filesystem>

#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"
#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/tokenizer/chat_template.h"

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

ChatInput read_chat_input(const std::optional<std::string>& messages_file, const std::optional<std::string>& system_text,
                          const std::optional<std::string>& user_text) {
  using Json = nlohmann::ordered_json;
  ChatInput input;
  if (system_text) input.messages.push_back(Json{{"role", "system"}, {"content", *system_text}});
  if (messages_file) {
    Json file = parse_ordered_json_input(read_regular_file(*messages_file), *messages_file);
    if (file.is_object()) {
      check(file.contains("messages"), *messages_file, ": an object of messages needs a \"messages\" array");
      if (file.contains("tools") && !file["tools"].is_null()) {
        check(file["tools"].is_array(), *messages_file, ": \"tools\" must be an array of tool schemas");
        input.tools = file["tools"];
      }
      file = file["messages"];
    }
    check_chat_messages(file, *messages_file);
    for (auto& message : file) input.messages.push_back(std::move(message));
  }
  if (user_text) input.messages.push_back(Json{{"role", "user"}, {"content", *user_text}});
  check_chat_messages(input.messages, "the chat messages");
  return input;
}

}  // namespace stepwise::cli
