// `stepwise convert` carries the tokenizer and the chat template through every conversion: a Hugging Face
// directory with the real Qwen3 tokenizer.json and tokenizer_config.json -> GGUF -> GGUF (the tokenizer
// keys and the template kept) -> safetensors directory (tokenizer.json and tokenizer_config.json written
// from the GGUF tokenizer) -> GGUF again, and a directory -> safetensors copies its tokenizer files. Each
// tokenizer along the way encodes every case of tests/fixtures/tokenizer/qwen3-cases.json (ids from the
// reference JavaScript tokenizer) to the reference ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/gguf_file.h"
#include "core/regular_file.h"
#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/tokenizer/model_chat_template.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;

class ConvertTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(STEPWISE_QWEN3_TOKENIZER)) << "run scripts/fetch_tokenizer.sh first";
    const fs::path package = fs::canonical(STEPWISE_QWEN3_TOKENIZER).parent_path();
    TransformerConfig config;
    config.model_type = "qwen3";
    config.vocab_size = 151936;  // Qwen3's embedding rows, more than the tokenizer defines
    config.hidden_size = 8;
    config.intermediate_size = 16;
    config.num_layers = 1;
    config.num_heads = 2;
    config.num_kv_heads = 1;
    config.head_dim = 4;
    config.max_position_embeddings = 64;
    config.tie_word_embeddings = true;
    config.qk_norm = true;
    config.eos_token_ids = {151645};
    save_checkpoint(*random_transformer(config, 5), hf_dir().string());
    fs::copy_file(package / "tokenizer.json", hf_dir() / "tokenizer.json");
    fs::copy_file(package / "tokenizer_config.json", hf_dir() / "tokenizer_config.json");
    const nlohmann::json cases = nlohmann::json::parse(read_regular_file(STEPWISE_TOKENIZER_CASES));
    for (const auto& c : cases["cases"])
      cases_.emplace_back(c["text"].get<std::string>(), c["ids"].get<std::vector<int64_t>>());
    ASSERT_GE(cases_.size(), 10u);
    template_ = read_chat_template_source(hf_dir().string())->text;
    ASSERT_NE(template_.find("<|im_start|>"), std::string::npos);
  }

  fs::path hf_dir() const { return dir_.path() / "hf"; }

  static void convert(const std::vector<std::string>& args) {
    ::testing::internal::CaptureStdout();
    const int code = cli::run_convert(args);
    ::testing::internal::GetCapturedStdout();
    ASSERT_EQ(code, 0);
  }

  void expect_reference_ids(const BpeTokenizer& tokenizer, const std::string& where) const {
    for (const auto& [text, ids] : cases_) EXPECT_EQ(tokenizer.encode(text), ids) << where << ": " << text;
  }

  testing::TempDir dir_;
  std::vector<std::pair<std::string, std::vector<int64_t>>> cases_;
  std::string template_;
};

TEST_F(ConvertTokenizer, RoundTripsKeepTheTokenizerAndTheChatTemplate) {
  const std::string first = (dir_.path() / "first.gguf").string();
  convert({"--model", hf_dir().string(), "--to", "gguf", "--out", first});
  expect_reference_ids(load_bpe_tokenizer(first), "directory -> GGUF");
  EXPECT_EQ(GgufFile(first).string("tokenizer.chat_template"), template_);

  // GGUF -> GGUF: the same tokenizer keys and template.
  const std::string second = (dir_.path() / "second.gguf").string();
  convert({"--model", first, "--to", "gguf", "--type", "q8_0", "--out", second});
  const GgufFile a(first), b(second);
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.chat_template"})
    EXPECT_EQ(a.string(key), b.string(key)) << key;
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"})
    EXPECT_EQ(a.string_array(key), b.string_array(key)) << key;
  EXPECT_EQ(a.integer_array("tokenizer.ggml.token_type"), b.integer_array("tokenizer.ggml.token_type"));
  expect_reference_ids(load_bpe_tokenizer(second), "GGUF -> GGUF");

  // GGUF -> safetensors: tokenizer.json and tokenizer_config.json (with the template) from the GGUF file.
  const fs::path back = dir_.path() / "back";
  convert({"--model", second, "--to", "safetensors", "--out", back.string()});
  const BpeTokenizer restored = BpeTokenizer::from_file((back / "tokenizer.json").string());
  expect_reference_ids(restored, "GGUF -> safetensors");
  const BpeTokenizer original = BpeTokenizer::from_file(STEPWISE_QWEN3_TOKENIZER);
  EXPECT_EQ(restored.vocab_size(), original.vocab_size());
  for (const char* special : {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>"}) {
    EXPECT_EQ(restored.token_id(special), original.token_id(special)) << special;
    EXPECT_EQ(restored.is_special(*restored.token_id(special)), original.is_special(*original.token_id(special)))
        << special;
  }
  const auto config = nlohmann::json::parse(read_regular_file((back / "tokenizer_config.json").string()));
  EXPECT_EQ(config["chat_template"].get<std::string>(), template_);
  EXPECT_EQ(config["eos_token"].get<std::string>(), "<|im_end|>");
  const ChatTemplateSource source = *read_chat_template_source(back.string());
  EXPECT_EQ(source.text, template_);

  // And that directory -> GGUF once more: the same tokenizer keys as the first file.
  const std::string third = (dir_.path() / "third.gguf").string();
  convert({"--model", back.string(), "--to", "gguf", "--out", third});
  const GgufFile c(third);
  EXPECT_EQ(a.string_array("tokenizer.ggml.tokens"), c.string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(a.integer_array("tokenizer.ggml.token_type"), c.integer_array("tokenizer.ggml.token_type"));
  EXPECT_EQ(a.string("tokenizer.chat_template"), c.string("tokenizer.chat_template"));
}

TEST_F(ConvertTokenizer, DirectoryToSafetensorsCopiesTheTokenizerFiles) {
  std::ofstream(hf_dir() / "chat_template.jinja") << "{{ messages[0].content }}";
  const fs::path out = dir_.path() / "copy";
  convert({"--model", hf_dir().string(), "--to", "safetensors", "--out", out.string()});
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"})
    EXPECT_EQ(read_regular_file((out / name).string()), read_regular_file((hf_dir() / name).string())) << name;
  EXPECT_FALSE(fs::exists(out / "vocab.json"));
}

}  // namespace
}  // namespace stepwise
