// Tests of the byte-level BPE tokenizer: the real Qwen3 tokenizer.json against ids produced by an independent
// encoder (tests/fixtures/tokenizer/qwen3-cases.json), and small hand-made tokenizer.json files whose merges,
// added tokens, normalizer and split behaviors can be followed by hand, plus the load-time errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/error.h"

namespace stepwise {
namespace {

using Json = nlohmann::json;
using Ids = std::vector<int64_t>;

constexpr const char* kQwen3Path = STEPWISE_QWEN3_TOKENIZER;
constexpr const char* kCasesPath = STEPWISE_TOKENIZER_CASES;

Json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Json();
  return Json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// Runs `body`, expecting a stepwise::Error whose message contains every one of `parts`.
template <typename Body>
void expect_error(const Body& body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected stepwise::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

// A per-test temporary folder, removed with its files.
class TempDir {
 public:
  TempDir() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = std::filesystem::temp_directory_path() / ("stepwise_bpe_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

// ------------------------------------------------------------------------------- real Qwen3 file

struct Qwen3Case {
  std::string text;
  Ids ids;
  bool roundtrip;
};

void PrintTo(const Qwen3Case& c, std::ostream* out) { *out << '"' << c.text << '"'; }

std::vector<Qwen3Case> load_cases() {
  std::vector<Qwen3Case> cases;
  const Json root = read_json(kCasesPath);
  if (!root.is_object() || !root.contains("cases")) return cases;
  for (const Json& item : root["cases"]) {
    cases.push_back({item["text"].get<std::string>(), item["ids"].get<Ids>(), item.value("roundtrip", true)});
  }
  return cases;
}

class Qwen3Tokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(kQwen3Path))
      tokenizer_ = std::make_unique<BpeTokenizer>(BpeTokenizer::from_file(kQwen3Path));
  }
  static void TearDownTestSuite() { tokenizer_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(tokenizer_ != nullptr) << "Qwen3 tokenizer not found at " << kQwen3Path
                                       << ": run scripts/fetch_tokenizer.sh first";
  }
  static const BpeTokenizer& tokenizer() { return *tokenizer_; }

 private:
  static std::unique_ptr<BpeTokenizer> tokenizer_;
};
std::unique_ptr<BpeTokenizer> Qwen3Tokenizer::tokenizer_;

class Qwen3Cases : public Qwen3Tokenizer, public ::testing::WithParamInterface<Qwen3Case> {};

TEST_P(Qwen3Cases, EncodesExactlyAndDecodesBack) {
  const Qwen3Case& c = GetParam();
  EXPECT_EQ(tokenizer().encode(c.text), c.ids) << "text: " << c.text;
  if (c.roundtrip) EXPECT_EQ(tokenizer().decode(c.ids), c.text);
}

INSTANTIATE_TEST_SUITE_P(Fixture, Qwen3Cases, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Qwen3Case>& info) {
                           return "case" + std::to_string(info.index);
                         });

TEST(Qwen3Fixture, HasCases) { EXPECT_GE(load_cases().size(), 10u) << "cannot read " << kCasesPath; }

TEST_F(Qwen3Tokenizer, VocabularyMatchesTheFile) {
  const Json root = read_json(kQwen3Path);
  int64_t max_id = -1;
  for (const auto& item : root["model"]["vocab"].items()) max_id = std::max(max_id, item.value().get<int64_t>());
  for (const Json& added : root["added_tokens"]) {
    max_id = std::max(max_id, added["id"].get<int64_t>());
    EXPECT_EQ(tokenizer().token_id(added["content"].get<std::string>()), added["id"].get<int64_t>());
    EXPECT_EQ(tokenizer().is_special(added["id"].get<int64_t>()), added["special"].get<bool>());
  }
  EXPECT_EQ(tokenizer().vocab_size(), max_id + 1);
  EXPECT_EQ(tokenizer().token_id("Hello"), root["model"]["vocab"]["Hello"].get<int64_t>());
  EXPECT_EQ(tokenizer().token_id("no such token here"), std::nullopt);
}

TEST_F(Qwen3Tokenizer, SpecialTokensInsideText) {
  // <|im_start|> = 151644 and <|im_end|> = 151645 per the fixture; they split the text around them.
  const Ids left = tokenizer().encode("Say");
  const Ids right = tokenizer().encode(" hi");
  Ids expected = left;
  expected.push_back(151644);
  expected.insert(expected.end(), right.begin(), right.end());
  expected.push_back(151645);
  expected.push_back(151645);
  EXPECT_EQ(tokenizer().encode("Say<|im_start|> hi<|im_end|><|im_end|>"), expected);

  const Ids ids = tokenizer().encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(tokenizer().decode(ids, /*skip_special=*/true), "user\nhi");
  EXPECT_EQ(tokenizer().decode(ids, /*skip_special=*/false), "<|im_start|>user\nhi<|im_end|>");
  // <think> is an added token that is not special: skip_special keeps it.
  const Ids think = tokenizer().encode("<think>ok</think>");
  ASSERT_EQ(think.front(), *tokenizer().token_id("<think>"));
  EXPECT_EQ(tokenizer().decode(think, /*skip_special=*/true), "<think>ok</think>");
  // A broken special token is plain text.
  EXPECT_EQ(tokenizer().decode(tokenizer().encode("<|im_start|")), "<|im_start|");
}

TEST_F(Qwen3Tokenizer, NormalizesToNfcBeforeSplitting) {
  // "café" with a combining acute accent (U+0301) encodes like the precomposed form of the fixture.
  const std::string composed = "naïve café déjà vu";
  const std::string decomposed = "nai\xCC\x88ve cafe\xCC\x81 de\xCC\x81ja\xCC\x80 vu";
  EXPECT_EQ(tokenizer().encode(decomposed), tokenizer().encode(composed));
  EXPECT_EQ(tokenizer().decode(tokenizer().encode(decomposed)), composed);
}

TEST_F(Qwen3Tokenizer, RoundTripsMixedTextAndRepeatsFromCache) {
  std::string text;
  for (const Qwen3Case& c : load_cases()) text += c.text + "\n\n   \t";
  text +=
      "Ünïcödé ÀÉÎ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 日本語のテキスト 한국어 текст عربى 👩‍💻 \r\n\r\n "
      "end";
  const Ids first = tokenizer().encode(text);
  EXPECT_EQ(tokenizer().decode(first), text);
  EXPECT_EQ(tokenizer().encode(text), first);  // second pass served from the word cache
  EXPECT_EQ(tokenizer().encode(""), Ids{});
}

TEST_F(Qwen3Tokenizer, ConcurrentEncodesAgree) {
  std::string text;
  for (const Qwen3Case& c : load_cases()) text += c.text + " ";
  const Ids expected = tokenizer().encode(text);
  std::vector<Ids> results(2);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) results[t] = tokenizer().encode(text + std::to_string(i * 7919 + t));
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t t = 0; t < results.size(); ++t) {
    EXPECT_EQ(tokenizer().decode(results[t]), text + std::to_string(49 * 7919 + t));
  }
  EXPECT_EQ(tokenizer().encode(text), expected);
}

TEST_F(Qwen3Tokenizer, DecodeRepairsCutCharactersAndRejectsBadIds) {
  // "ð" (U+00F0) is the byte-level symbol of the lone byte F0: the start of a 4-byte character.
  const std::optional<int64_t> lead = tokenizer().token_id("ð");
  ASSERT_TRUE(lead.has_value());
  EXPECT_EQ(tokenizer().decode_bytes({*lead}), "\xF0");
  EXPECT_EQ(tokenizer().decode({*lead}), "\xEF\xBF\xBD");
  const Ids ids = tokenizer().encode("🙂");
  EXPECT_EQ(tokenizer().decode(ids), "🙂");
  expect_error([&] { tokenizer().decode({tokenizer().vocab_size()}); }, {"token id", "vocabulary"});
  expect_error([&] { tokenizer().decode({-1}); }, {"token id -1"});
  expect_error([&] { tokenizer().encode("bad \xFF byte"); }, {"UTF-8", "byte offset 4"});
}

// --------------------------------------------------------------------------- hand-made tokenizer

// Byte-level vocabulary: "Ġ" is the space byte, "Ã" and "©" the two bytes of "é" (C3 A9).
// Merge ranks: b+c, Ġ+a, a+b, a+bc, c+d, Ġa+b, Ã+© (the last two in the [a, b] pair form).
Json tiny_tokenizer() {
  return Json::parse(R"json({
    "version": "1.0",
    "added_tokens": [
      {"id": 14, "content": "<s>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
      {"id": 15, "content": "<s><s>", "special": false, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
      {"id": 16, "content": "<m>", "special": true, "normalized": false, "lstrip": true, "rstrip": true, "single_word": false},
      {"id": 17, "content": "dd", "special": false, "normalized": false, "lstrip": false, "rstrip": false, "single_word": true}
    ],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": " ?\\p{L}+|\\s+|[^\\s\\p{L}]+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
    ]},
    "post_processor": null,
    "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
    "model": {
      "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "",
      "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
      "vocab": {"a": 0, "b": 1, "c": 2, "d": 3, "Ġ": 4, "ab": 5, "bc": 6, "abc": 7, "Ġa": 8, "cd": 9, "Ġab": 10,
                "Ã": 11, "©": 12, "Ã©": 13},
      "merges": ["b c", "Ġ a", "a b", "a bc", "c d", ["Ġa", "b"], ["Ã", "©"]]
    }
  })json");
}

class TinyTokenizer : public ::testing::Test {
 protected:
  BpeTokenizer load(const Json& config) { return BpeTokenizer::from_file(dir_.write("tokenizer.json", config.dump())); }
  TempDir dir_;
};

TEST_F(TinyTokenizer, MergesByRankNotByPosition) {
  const BpeTokenizer tok = load(tiny_tokenizer());
  EXPECT_EQ(tok.encode("abc"), (Ids{7}));      // b+c (rank 0) first, then a+bc; a+b would leave "ab c"
  EXPECT_EQ(tok.encode("abcd"), (Ids{7, 3}));  // b+c before c+d, then a+bc; "abc" + "d"
  EXPECT_EQ(tok.encode(" ab"), (Ids{10}));     // Ġ+a (rank 1) before a+b (rank 2), then Ġa+b (pair form)
  EXPECT_EQ(tok.encode(" abc"), (Ids{8, 6}));  // b+c, then Ġ+a; no rule joins Ġa and bc
  EXPECT_EQ(tok.encode("ab ab"), (Ids{5, 10}));
  EXPECT_EQ(tok.encode("dcd"), (Ids{3, 9}));
  EXPECT_EQ(tok.decode({10, 4, 7}), " ab abc");
  EXPECT_EQ(tok.vocab_size(), 18);
  EXPECT_EQ(tok.token_id("Ġab"), 10);
}

TEST_F(TinyTokenizer, NormalizesBeforeByteMapping) {
  const BpeTokenizer tok = load(tiny_tokenizer());
  EXPECT_EQ(tok.encode("\xC3\xA9"), (Ids{13}));   // é precomposed: bytes C3 A9 -> Ã + © -> Ã©
  EXPECT_EQ(tok.encode("e\xCC\x81"), (Ids{13}));  // e + U+0301 composes to é first
  EXPECT_EQ(tok.decode({13}), "\xC3\xA9");
}

TEST_F(TinyTokenizer, AddedTokensLongestFirstAndTheirOptions) {
  const BpeTokenizer tok = load(tiny_tokenizer());
  EXPECT_EQ(tok.encode("ab<s><s>c<s>"), (Ids{5, 15, 2, 14}));  // "<s><s>" wins over two "<s>"
  EXPECT_EQ(tok.decode({5, 15, 2, 14}, /*skip_special=*/true), "ab<s><s>c");
  EXPECT_EQ(tok.decode({5, 15, 2, 14}), "ab<s><s>c<s>");
  EXPECT_EQ(tok.encode("ab <m> c"), (Ids{5, 16, 2}));     // lstrip and rstrip swallow the spaces
  EXPECT_EQ(tok.encode("dd abdd"), (Ids{17, 10, 3, 3}));  // single_word: the second "dd" is inside a word
  EXPECT_TRUE(tok.is_special(14));
  EXPECT_FALSE(tok.is_special(15));
}

TEST_F(TinyTokenizer, ByteLevelRegexAndPrefixSpace) {
  Json config = tiny_tokenizer();
  config["pre_tokenizer"] = Json::parse(R"({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true})");
  const BpeTokenizer tok = load(config);
  EXPECT_EQ(tok.encode("ab"), (Ids{10}));               // " ab"
  EXPECT_EQ(tok.encode("ab<s>ab"), (Ids{10, 14, 10}));  // each text piece gets its own prefix space
  EXPECT_EQ(tok.encode("abc ab"), (Ids{8, 6, 10}));
}

TEST_F(TinyTokenizer, SplitBehaviors) {
  struct Case {
    const char* behavior;
    bool invert;
    Ids expected;  // encoding of "ab ab" split on the literal " "
  };
  const std::vector<Case> cases = {
      {"Removed", false, {5, 5}},                // "ab", "ab"
      {"Isolated", false, {5, 4, 5}},            // "ab", " ", "ab"
      {"MergedWithPrevious", false, {5, 4, 5}},  // "ab ", "ab": no rule joins ab and Ġ
      {"MergedWithNext", false, {5, 10}},        // "ab", " ab"
      {"Removed", true, {4}},                    // the words are the delimiters now
  };
  for (const Case& c : cases) {
    Json config = tiny_tokenizer();
    config["pre_tokenizer"]["pretokenizers"][0] = {
        {"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", c.behavior}, {"invert", c.invert}};
    EXPECT_EQ(load(config).encode("ab ab"), c.expected) << c.behavior << (c.invert ? " inverted" : "");
  }
}

TEST_F(TinyTokenizer, IgnoreMergesTakesWholeWordsFromTheVocab) {
  Json config = tiny_tokenizer();
  config["model"]["vocab"]["bcd"] = 18;
  config["model"]["merges"].push_back("bc d");
  EXPECT_EQ(load(config).encode("abcd"), (Ids{7, 3}));
  config["model"]["ignore_merges"] = true;
  config["model"]["vocab"]["abcd"] = 19;
  config["model"]["merges"].push_back("a bcd");
  EXPECT_EQ(load(config).encode("abcd"), (Ids{19}));
}

// ------------------------------------------------------------------------------------------ errors

TEST_F(TinyTokenizer, MissingFileNamesThePath) {
  expect_error([] { BpeTokenizer::from_file("/nonexistent/dir/tokenizer.json"); }, {"/nonexistent/dir/tokenizer.json"});
}

TEST_F(TinyTokenizer, RejectsUnsupportedPieces) {
  const auto expect_rejected = [&](Json config, const std::vector<std::string>& parts) {
    const std::string path = dir_.write("bad.json", config.dump());
    std::vector<std::string> all = parts;
    all.push_back(path);
    expect_error([&] { BpeTokenizer::from_file(path); }, all);
  };
  Json config = tiny_tokenizer();
  config["model"]["type"] = "WordPiece";
  expect_rejected(config, {"model.type", "WordPiece"});

  config = tiny_tokenizer();
  config["normalizer"] = {{"type", "Lowercase"}};
  expect_rejected(config, {"normalizer", "Lowercase"});

  config = tiny_tokenizer();
  config["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Metaspace"}, {"replacement", "_"}};
  expect_rejected(config, {"pre_tokenizer.pretokenizers[0]", "Metaspace"});

  config = tiny_tokenizer();
  config["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Isolated"}};
  expect_rejected(config, {"ByteLevel"});

  config = tiny_tokenizer();
  config["decoder"] = {{"type", "Metaspace"}};
  expect_rejected(config, {"decoder", "Metaspace"});

  config = tiny_tokenizer();
  config["model"]["merges"].push_back("a zz");
  expect_rejected(config, {"model.merges[7]", "zz"});

  config = tiny_tokenizer();
  config["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}};
  expect_rejected(config, {"regex"});

  config = tiny_tokenizer();
  config["model"]["byte_fallback"] = true;
  expect_rejected(config, {"byte_fallback"});
}

TEST_F(TinyTokenizer, RejectsInvalidJson) {
  const std::string path = dir_.write("broken.json", "{\"model\": ");
  expect_error([&] { BpeTokenizer::from_file(path); }, {path, "JSON"});
}

}  // namespace
}  // namespace stepwise
