// Tokenizers inside GGUF files: the Qwen3 tokenizer.json written as tokenizer.ggml.* keys and read back
// encodes every case of tests/fixtures/tokenizer/qwen3-cases.json (ids from the reference JavaScript
// tokenizer) to the same ids and decodes them back; broken tokenizer keys are errors naming the file
// and the key.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/error.h"
#include "core/gguf_file.h"
#include "core/gguf_writer.h"
#include "tests/support/expect_error.h"

namespace stepwise {
namespace {

constexpr int64_t kQwen3VocabSize = 151936;  // the model's embedding rows (more than the tokenizer defines)

class GgufTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/stepwise-gguf-tok-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

using testing::error_of;

TEST_F(GgufTokenizerTest, Qwen3TokenizerReproducesTheReferenceIds) {
  GgufWriter writer;
  writer.add_string("general.architecture", "qwen3");
  add_gguf_tokenizer(writer, STEPWISE_QWEN3_TOKENIZER, kQwen3VocabSize);
  const std::string path = dir_ + "/qwen3.gguf";
  writer.write(path);

  const GgufFile file(path);
  EXPECT_EQ(file.string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(file.string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(file.string_array("tokenizer.ggml.tokens").size(), static_cast<size_t>(kQwen3VocabSize));
  const auto types = file.integer_array("tokenizer.ggml.token_type");
  EXPECT_EQ(types[9707], 1);     // "Hello": normal
  EXPECT_EQ(types[151644], 3);   // <|im_start|>: control (special)
  EXPECT_EQ(types[151667], 4);   // <think>: user-defined (not special)
  EXPECT_EQ(types[151935], 5);   // beyond the tokenizer: unused padding
  EXPECT_EQ(file.string_array("tokenizer.ggml.tokens")[151935], "[PAD151935]");

  ASSERT_TRUE(gguf_has_tokenizer(file));
  const BpeTokenizer from_gguf = bpe_tokenizer_from_gguf(file);
  const BpeTokenizer from_json = BpeTokenizer::from_file(STEPWISE_QWEN3_TOKENIZER);
  EXPECT_EQ(from_gguf.vocab_size(), from_json.vocab_size());
  std::ifstream in(STEPWISE_TOKENIZER_CASES);
  const nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GE(cases["cases"].size(), 10u);
  for (const auto& c : cases["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int64_t> ids = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(from_gguf.encode(text), ids) << text;
    if (c.value("roundtrip", true)) EXPECT_EQ(from_gguf.decode(ids), text);
  }
  const std::string chat = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>";
  EXPECT_EQ(from_gguf.encode(chat), from_json.encode(chat));
  EXPECT_TRUE(from_gguf.is_special(151645));
  EXPECT_EQ(load_bpe_tokenizer(path).encode("Hello, world!"), (std::vector<int64_t>{9707, 11, 1879, 0}));
}

TEST_F(GgufTokenizerTest, BrokenTokenizerKeysAreNamed) {
  auto file_with = [&](const std::string& name, const std::function<void(GgufWriter&)>& edit) {
    GgufWriter writer;
    edit(writer);
    const std::string path = dir_ + "/" + name + ".gguf";
    writer.write(path);
    return path;
  };
  const auto basic = [](GgufWriter& w, const std::string& model, const std::string& pre) {
    w.add_string("tokenizer.ggml.model", model);
    w.add_string("tokenizer.ggml.pre", pre);
    w.add_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
  };
  const std::string llama = file_with("spm", [&](GgufWriter& w) { basic(w, "llama", "default"); });
  EXPECT_NE(error_of([&] { bpe_tokenizer_from_gguf(GgufFile(llama)); })
                .find("key 'tokenizer.ggml.model' = 'llama' is not supported"),
            std::string::npos);
  const std::string pre = file_with("pre", [&](GgufWriter& w) { basic(w, "gpt2", "falcon"); });
  EXPECT_NE(error_of([&] { bpe_tokenizer_from_gguf(GgufFile(pre)); })
                .find("key 'tokenizer.ggml.pre' = 'falcon' is not supported"),
            std::string::npos);
  const std::string types = file_with("types", [&](GgufWriter& w) {
    basic(w, "gpt2", "qwen2");
    w.add_int32_array("tokenizer.ggml.token_type", {1, 1});
  });
  EXPECT_NE(error_of([&] { bpe_tokenizer_from_gguf(GgufFile(types)); })
                .find("'tokenizer.ggml.token_type' has 2 entries for 3 tokens"),
            std::string::npos);
  const std::string merges = file_with("merges", [&](GgufWriter& w) {
    basic(w, "gpt2", "qwen2");
    w.add_string_array("tokenizer.ggml.merges", {"ab"});
  });
  EXPECT_NE(error_of([&] { bpe_tokenizer_from_gguf(GgufFile(merges)); })
                .find("'tokenizer.ggml.merges' entry 0 is not two tokens"),
            std::string::npos);
  const std::string unknown_merge = file_with("unknown-merge", [&](GgufWriter& w) {
    basic(w, "gpt2", "qwen2");
    w.add_string_array("tokenizer.ggml.merges", {"a c"});
  });
  EXPECT_NE(error_of([&] { bpe_tokenizer_from_gguf(GgufFile(unknown_merge)); }).find(unknown_merge),
            std::string::npos);
  const std::string none = file_with("none", [&](GgufWriter& w) { w.add_string("tokenizer.ggml.model", "none"); });
  EXPECT_FALSE(gguf_has_tokenizer(GgufFile(none)));
  EXPECT_NE(error_of([&] { load_bpe_tokenizer(none); }).find("carries no tokenizer"), std::string::npos);
  // A small valid one: merges apply by rank.
  const std::string ok = file_with("ok", [&](GgufWriter& w) {
    basic(w, "gpt2", "gpt-2");
    w.add_string_array("tokenizer.ggml.merges", {"a b"});
  });
  EXPECT_EQ(load_bpe_tokenizer(ok).encode("abba"), (std::vector<int64_t>{2, 1, 0}));
}

TEST_F(GgufTokenizerTest, WritingRefusesWhatGgufCannotName) {
  const std::string path = dir_ + "/tokenizer.json";
  std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
    "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}})";
  GgufWriter writer;
  EXPECT_NE(error_of([&] { add_gguf_tokenizer(writer, path, 4); }).find("is not one GGUF names"),
            std::string::npos);
  std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"a": 7}, "merges": []},
    "pre_tokenizer": {"type": "ByteLevel", "use_regex": true}})";
  EXPECT_NE(error_of([&] { add_gguf_tokenizer(writer, path, 4); }).find("id 7 is outside the model's vocabulary of 4"),
            std::string::npos);
}

}  // namespace
}  // namespace stepwise
