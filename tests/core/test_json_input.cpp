// JSON input with a nesting limit: values up to kMaxJsonDepth levels parse exactly as nlohmann parses them,
// one level more is refused with a stepwise::Error naming the source (for the DOM parser and for the
// tokenizer's streaming reader), and syntax errors name the source too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/json_input.h"
#include "core/tokenizer/bpe_tokenizer.h"
#include "tests/support/expect_error.h"

namespace stepwise {
namespace {

// `levels` nested arrays around the number 7: levels = 1 gives "[7]".
std::string nested_arrays(int levels) { return std::string(levels, '[') + "7" + std::string(levels, ']'); }

using testing::error_of;

TEST(JsonInput, ParsesUpToTheLimitAsNlohmannDoes) {
  const std::string deepest = nested_arrays(kMaxJsonDepth);
  EXPECT_EQ(parse_json_input(deepest, "a.json"), nlohmann::json::parse(deepest));
  EXPECT_EQ(parse_ordered_json_input(deepest, "a.json"), nlohmann::ordered_json::parse(deepest));
  const std::string objects = R"({"a": {"b": [1, 2.5, "x", null, true]}, "c": {}})";
  EXPECT_EQ(parse_json_input(objects, "a.json"), nlohmann::json::parse(objects));
  ASSERT_TRUE(parse_json_input_or_none(objects).has_value());
  EXPECT_EQ(*parse_json_input_or_none(objects), nlohmann::json::parse(objects));
  // Member order is kept by the ordered variant.
  EXPECT_EQ(parse_ordered_json_input(R"({"z": 1, "a": 2})", "a.json").begin().key(), "z");
}

TEST(JsonInput, RefusesOneLevelMore) {
  const std::string too_deep = nested_arrays(kMaxJsonDepth + 1);
  EXPECT_EQ(error_of([&] { parse_json_input(too_deep, "dir/config.json"); }),
            "dir/config.json: JSON nested deeper than 128 levels");
  EXPECT_EQ(error_of([&] { parse_ordered_json_input(too_deep, "m.json"); }), "m.json: JSON nested deeper than 128 levels");
  EXPECT_FALSE(parse_json_input_or_none(too_deep).has_value());
  // Objects count as levels too, and a hostile depth is refused without exhausting anything.
  std::string objects;
  for (int i = 0; i <= kMaxJsonDepth; ++i) objects += "{\"k\":";
  objects += "1" + std::string(kMaxJsonDepth + 1, '}');
  EXPECT_FALSE(parse_json_input_or_none(objects).has_value());
  const std::string hostile = std::string(1 << 20, '[');
  EXPECT_EQ(error_of([&] { parse_json_input(hostile, "big.json"); }), "big.json: JSON nested deeper than 128 levels");
}

TEST(JsonInput, SyntaxErrorsNameTheSource) {
  EXPECT_EQ(error_of([] { parse_json_input("{\"a\": ", "x.jsonl:3"); }).rfind("x.jsonl:3: not valid JSON (", 0), 0u);
  EXPECT_EQ(error_of([] { parse_json_input("1E681614", "n.json"); }).rfind("n.json: not valid JSON (", 0), 0u);
  EXPECT_FALSE(parse_json_input_or_none("").has_value());
  EXPECT_FALSE(parse_json_input_or_none("[1, 2").has_value());
}

TEST(JsonInput, TokenizerReaderRefusesDeepNesting) {
  const auto path = std::filesystem::path(::testing::TempDir()) / "deep_tokenizer.json";
  {
    std::ofstream out(path);
    out << R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "extra": )" << std::string(100000, '[')
        << std::string(100000, ']') << "}";
  }
  const std::string message = error_of([&] { BpeTokenizer::from_file(path.string()); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("JSON nested deeper than 128 levels"), std::string::npos) << message;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace stepwise
