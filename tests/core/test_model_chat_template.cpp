// A checkpoint's chat template: found in a GGUF file (tokenizer.chat_template, with the texts of its bos /
// eos token ids) or a Hugging Face directory (chat_template.jinja before tokenizer_config.json, a list of
// named templates by "default", bos_token / eos_token as strings or objects); a model without one gets the
// built-in ChatML format; a broken template is an error naming the file, line and column.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/gguf_writer.h"
#include "core/tokenizer/model_chat_template.h"
#include "tests/support/expect_error.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

using testing::error_of;

class ModelChatTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/stepwise-chat-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }
  fs::path dir_;
  const Json messages_ = Json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])");
};

TEST_F(ModelChatTemplateTest, DirectoryTemplateAndTokensFromTokenizerConfig) {
  write("tokenizer_config.json",
        R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
            "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ eos_token }}"})");
  const ModelChatTemplate chat(dir_.string());
  EXPECT_TRUE(chat.has_own_template());
  EXPECT_EQ(chat.origin(), (dir_ / "tokenizer_config.json").string() + ": chat_template");
  EXPECT_EQ(chat.render(messages_, {}), "<s>[system:S][user:U]</s>");
  // chat_template.jinja takes precedence, as in transformers.
  write("chat_template.jinja", "{{ messages[-1].content }}!\n");
  EXPECT_EQ(ModelChatTemplate(dir_.string()).render(messages_, {}), "U!");
}

TEST_F(ModelChatTemplateTest, NamedTemplatesTakeTheDefault) {
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                                       {"name": "default", "template": "D"}]})");
  EXPECT_EQ(ModelChatTemplate(dir_.string()).render(messages_, {}), "D");
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
  EXPECT_NE(error_of([&] { ModelChatTemplate chat(dir_.string()); }).find("none is called 'default'"),
            std::string::npos);
}

TEST_F(ModelChatTemplateTest, WithoutATemplateTheBuiltinChatMlFormat) {
  const ModelChatTemplate chat(dir_.string());
  EXPECT_FALSE(chat.has_own_template());
  EXPECT_EQ(chat.render(messages_, {}), "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
  ChatOptions no_prompt;
  no_prompt.add_generation_prompt = false;
  EXPECT_EQ(chat.render(messages_, no_prompt), "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n");
}

TEST_F(ModelChatTemplateTest, GgufTemplateWithItsSpecialTokenTexts) {
  GgufWriter writer;
  writer.add_string("general.architecture", "qwen3");
  writer.add_string("tokenizer.ggml.model", "gpt2");
  writer.add_string_array("tokenizer.ggml.tokens", {"a", "<bos>", "<eos>"});
  writer.add_uint32("tokenizer.ggml.bos_token_id", 1);
  writer.add_uint32("tokenizer.ggml.eos_token_id", 2);
  writer.add_string("tokenizer.chat_template", "{{ bos_token }}{{ messages[1].content }}{{ eos_token }}");
  const std::string path = (dir_ / "m.gguf").string();
  writer.write(path);
  const ModelChatTemplate chat(path);
  EXPECT_EQ(chat.origin(), path + ": tokenizer.chat_template");
  EXPECT_EQ(chat.render(messages_, {}), "<bos>U<eos>");

  GgufWriter broken;
  broken.add_string("general.architecture", "qwen3");
  broken.add_string("tokenizer.chat_template", "{% for %}");
  broken.write(path);
  EXPECT_EQ(error_of([&] { ModelChatTemplate bad(path); }), path + ": tokenizer.chat_template:1:8: expected a name, found '%}'");
}

}  // namespace
}  // namespace stepwise
