// Finding a checkpoint's chat template and special tokens: GGUF metadata or the Hugging Face files.
#include "core/tokenizer/model_chat_template.h"

#include <filesystem>

#include "core/error.h"
#include "core/gguf_file.h"
#include "core/json_input.h"
#include "core/regular_file.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> gguf_token_text(const GgufFile& file, const std::string& key) {
  const auto id = file.optional_integer(key);
  if (!id || !file.has("tokenizer.ggml.tokens")) return std::nullopt;
  const std::vector<std::string> tokens = file.string_array("tokenizer.ggml.tokens");
  check(*id >= 0 && *id < static_cast<int64_t>(tokens.size()), file.path(), ": key '", key, "' = ", *id,
        " is not a token id (the file has ", tokens.size(), " tokens)");
  return tokens[static_cast<size_t>(*id)];
}

std::optional<ChatTemplateSource> from_gguf(const std::string& path) {
  const GgufFile file(path);
  const auto source = file.optional_string("tokenizer.chat_template");
  if (!source) return std::nullopt;
  return ChatTemplateSource{*source, path + ": tokenizer.chat_template", gguf_token_text(file, "tokenizer.ggml.bos_token_id"),
                       gguf_token_text(file, "tokenizer.ggml.eos_token_id")};
}

// tokenizer_config.json's bos_token / eos_token: a string, an AddedToken object {"content": ...} or null.
std::optional<std::string> config_token(const nlohmann::ordered_json& config, const std::string& key) {
  if (!config.contains(key)) return std::nullopt;
  const auto& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return std::nullopt;
}

nlohmann::ordered_json read_json(const fs::path& path) {
  return parse_ordered_json_input(read_regular_file(path.string()), path.string());
}

// chat_template.jinja first (how recent transformers versions save it), then tokenizer_config.json's
// "chat_template": a string, or a list of {"name", "template"} of which "default" is taken.
std::optional<ChatTemplateSource> from_directory(const fs::path& directory) {
  std::error_code error;
  const fs::path config_path = directory / "tokenizer_config.json";
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  if (fs::is_regular_file(config_path, error)) config = read_json(config_path);
  check(config.is_object(), config_path.string(), ": not a JSON object");
  ChatTemplateSource found{"", "", config_token(config, "bos_token"), config_token(config, "eos_token")};
  const fs::path jinja_path = directory / "chat_template.jinja";
  if (fs::is_regular_file(jinja_path, error)) {
    found.text = read_regular_file(jinja_path.string());
    found.where = jinja_path.string();
    return found;
  }
  if (!config.contains("chat_template") || config["chat_template"].is_null()) return std::nullopt;
  const auto& entry = config["chat_template"];
  found.where = config_path.string() + ": chat_template";
  if (entry.is_string()) {
    found.text = entry.get<std::string>();
    return found;
  }
  check(entry.is_array(), config_path.string(), ": chat_template is neither a string nor a list of named templates");
  for (const auto& named : entry) {
    if (named.is_object() && named.value("name", std::string()) == "default" && named.contains("template") &&
        named["template"].is_string()) {
      found.text = named["template"].get<std::string>();
      found.where = config_path.string() + ": chat_template 'default'";
      return found;
    }
  }
  fail(config_path.string(), ": chat_template lists named templates but none is called 'default'");
}

}  // namespace

std::optional<ChatTemplateSource> read_chat_template_source(const std::string& path) {
  if (is_gguf_path(path)) return from_gguf(path);
  std::error_code error;
  if (fs::is_directory(path, error)) return from_directory(path);
  return from_directory(fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path());
}

namespace {

ChatTemplateSource find_or_builtin(const std::string& model_path, const std::optional<std::string>& tokenizer_path,
                              bool& own) {
  std::optional<ChatTemplateSource> found = read_chat_template_source(model_path);
  if (!found && tokenizer_path) found = read_chat_template_source(*tokenizer_path);
  own = found.has_value();
  if (found) return *found;
  return ChatTemplateSource{builtin_chat_template(), "the built-in ChatML format", std::nullopt, std::nullopt};
}

}  // namespace

const std::string& builtin_chat_template() {
  static const std::string text =
      "{%- for message in messages %}"
      "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
      "{%- endfor %}"
      "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
  return text;
}

ModelChatTemplate::ModelChatTemplate(const std::string& model_path, const std::optional<std::string>& tokenizer_path)
    : template_("", "") {
  const ChatTemplateSource found = find_or_builtin(model_path, tokenizer_path, own_template_);
  template_ = ChatTemplate(found.text, found.where);
  bos_token_ = found.bos_token;
  eos_token_ = found.eos_token;
}

std::string ModelChatTemplate::render(const nlohmann::ordered_json& messages, const ChatOptions& options) const {
  check_chat_messages(messages, origin());
  return template_.render_chat(messages, options, bos_token_, eos_token_);
}

}  // namespace stepwise
