// `stepwise serve`'s torch-free parts: strict reading of OpenAI request bodies (every accepted form and
// every refused one with its HTTP status and the field it names), the stream pieces of a choice (whole, and
// as a live decode commits them) against
// the tokenizer's own decode of the same tokens, the --config file (named decoders over shared models,
// request settings applied to a block, errors with file, line and key path) and the Prometheus
// histogram's cumulative buckets.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/tokenizer/bpe_tokenizer.h"
#include "experiments/serve/openai_request.h"
#include "experiments/serve/serve_config.h"
#include "experiments/serve/serve_metrics.h"
#include "experiments/serve/stream_text.h"

namespace stepwise::serve {
namespace {

ApiError error_of(Endpoint endpoint, const std::string& body) {
  try {
    parse_api_request(endpoint, body);
  } catch (const ApiError& error) {
    return error;
  }
  ADD_FAILURE() << "no error for " << body;
  return ApiError(0, "");
}

TEST(ServeRequest, CompletionPromptAsTextOrTokenIds) {
  const ApiRequest text = parse_api_request(Endpoint::kCompletions, R"({"model":"m","prompt":"Hello","max_tokens":5})");
  EXPECT_EQ(text.prompt_text, "Hello");
  EXPECT_EQ(text.max_tokens, 5);
  const ApiRequest ids = parse_api_request(Endpoint::kCompletions, R"({"model":"m","prompt":[1,2,3]})");
  EXPECT_EQ(ids.prompt_ids, (std::vector<int64_t>{1, 2, 3}));
  const ApiRequest nested = parse_api_request(Endpoint::kCompletions, R"({"model":"m","prompt":[[4,5]]})");
  EXPECT_EQ(nested.prompt_ids, (std::vector<int64_t>{4, 5}));
  const ApiRequest listed = parse_api_request(Endpoint::kCompletions, R"({"model":"m","prompt":["Hi"]})");
  EXPECT_EQ(listed.prompt_text, "Hi");
}

TEST(ServeRequest, SamplingAndDecoderKeysBecomeDecoderSettings) {
  const ApiRequest request = parse_api_request(
      Endpoint::kCompletions,
      R"({"model":"m","prompt":"x","temperature":0.5,"top_k":4,"steps":8,"alg":"entropy","seed":7,"n":2,"stop":["\n"]})");
  EXPECT_EQ(request.decoder_settings.at("temperature"), 0.5);
  EXPECT_EQ(request.decoder_settings.at("top_k"), 4);
  EXPECT_EQ(request.decoder_settings.at("steps"), 8);
  EXPECT_EQ(request.decoder_settings.at("alg"), "entropy");
  EXPECT_EQ(request.seed, 7u);
  EXPECT_EQ(request.n, 2);
  EXPECT_EQ(request.stop, std::vector<std::string>{"\n"});
}

TEST(ServeRequest, ChatMessagesWithTextParts) {
  const ApiRequest request = parse_api_request(
      Endpoint::kChatCompletions,
      R"({"model":"m","messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],"stream":true,"stream_options":{"include_usage":true},"chat_template_kwargs":{"enable_thinking":false}})");
  ASSERT_EQ(request.messages.size(), 2u);
  EXPECT_EQ(request.messages[0]["role"], "system");
  EXPECT_EQ(request.messages[1]["content"], "Hi there");
  EXPECT_TRUE(request.stream);
  EXPECT_TRUE(request.include_usage);
  EXPECT_EQ(request.enable_thinking, false);
}

TEST(ServeRequest, BadBodiesAre400NamingTheField) {
  struct Case {
    Endpoint endpoint;
    std::string body;
    std::string param;
  };
  const std::vector<Case> cases{
      {Endpoint::kCompletions, "{not json", ""},
      {Endpoint::kCompletions, "[1]", ""},
      {Endpoint::kCompletions, R"({"prompt":"x"})", "model"},
      {Endpoint::kCompletions, R"({"model":"m"})", "prompt"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":""})", "prompt"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":["a","b"]})", "prompt"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":[1,-2]})", "prompt[1]"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","max_tokens":0})", "max_tokens"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","max_tokens":1e30})", "max_tokens"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","max_tokens":99999999999999999999})", "max_tokens"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","n":17})", "n"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","stop":["a","b","c","d","e"]})", "stop"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","stop":[""]})", "stop"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","temperature":"hot"})", "temperature"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","stream":"yes"})", "stream"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","frobnicate":1})", "frobnicate"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","steps":{"a":1}})", "steps"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","gen_length":4})", "gen_length"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","draft_model":"/etc"})", "draft_model"},
      {Endpoint::kCompletions, R"({"model":"m","prompt":"x","presence_penalty":1})", "presence_penalty"},
      {Endpoint::kCompletions, R"({"model":"m","messages":[]})", "messages"},
      {Endpoint::kChatCompletions, R"({"model":"m","messages":[]})", "messages"},
      {Endpoint::kChatCompletions, R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})", "messages[0].role"},
      {Endpoint::kChatCompletions, R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role"},
      {Endpoint::kChatCompletions, R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0]"},
      {Endpoint::kChatCompletions, R"({"model":"m","messages":[{"role":"user","content":"x","mood":1}]})",
       "messages[0].mood"},
      {Endpoint::kChatCompletions, R"({"model":"m","prompt":"x","messages":[{"role":"user","content":"x"}]})", "prompt"},
  };
  for (const Case& c : cases) {
    const ApiError error = error_of(c.endpoint, c.body);
    EXPECT_EQ(error.status(), 400) << c.body;
    const nlohmann::json body = error.body();
    EXPECT_EQ(body["error"]["type"], "invalid_request_error") << c.body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << c.body;
    EXPECT_TRUE(body["error"].contains("code")) << c.body;
    if (c.param.empty())
      EXPECT_TRUE(body["error"]["param"].is_null()) << c.body;
    else
      EXPECT_EQ(body["error"]["param"], c.param) << c.body;
  }
}

class ServeStreamText : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(STEPWISE_QWEN3_TOKENIZER)) << "run scripts/fetch_tokenizer.sh first";
    tokenizer_ = std::make_unique<BpeTokenizer>(BpeTokenizer::from_file(STEPWISE_QWEN3_TOKENIZER));
  }
  std::string joined(const StreamText& stream) {
    std::string text;
    for (const auto& piece : stream.pieces) {
      EXPECT_FALSE(piece.empty());
      text += piece;
    }
    return text;
  }
  std::unique_ptr<BpeTokenizer> tokenizer_;
};

TEST_F(ServeStreamText, PiecesPerTokenJoinToTheDecodedText) {
  // "é" and an emoji span several byte-level tokens: no piece may end inside a character.
  const std::vector<int64_t> tokens = tokenizer_->encode("Caf\xC3\xA9 \xF0\x9F\x98\x80 ok");
  const StreamText stream = stream_text(*tokenizer_, tokens, {}, {});
  EXPECT_EQ(stream.text, tokenizer_->decode(tokens, true));
  EXPECT_EQ(joined(stream), stream.text);
  for (const auto& piece : stream.pieces) EXPECT_EQ(whole_utf8_prefix(piece), piece.size()) << piece;
  EXPECT_FALSE(stream.stopped_by_string);
}

TEST_F(ServeStreamText, DiffusionPiecesFollowTheCommittedLeadingRun) {
  const std::vector<int64_t> tokens = tokenizer_->encode(" one two three four");
  ASSERT_EQ(tokens.size(), 4u);
  // Positions committed at steps 2, 0, 1, 3: the leading run grows only at step 2 (to 3 tokens) and 3.
  const StreamText stream = stream_text(*tokenizer_, tokens, {2, 0, 1, 3}, {});
  ASSERT_EQ(stream.pieces.size(), 2u);
  EXPECT_EQ(stream.pieces[0], " one two three");
  EXPECT_EQ(stream.pieces[1], " four");
}

TEST_F(ServeStreamText, StopStringCutsTextAndPieces) {
  const std::vector<int64_t> tokens = tokenizer_->encode("alpha beta. gamma");
  const StreamText stream = stream_text(*tokenizer_, tokens, {}, {"zzz", "."});
  EXPECT_EQ(stream.text, "alpha beta");
  EXPECT_EQ(joined(stream), "alpha beta");
  EXPECT_TRUE(stream.stopped_by_string);
}

TEST_F(ServeStreamText, LiveCommitsGiveTheSamePiecesAsTheFinishedDecode) {
  const std::vector<int64_t> tokens = tokenizer_->encode("Caf\xC3\xA9 \xF0\x9F\x98\x80 ok, done");
  const StreamText whole = stream_text(*tokenizer_, tokens, {}, {});
  StreamTextBuilder builder(*tokenizer_, {});
  std::vector<std::string> pieces;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string piece = builder.commit({static_cast<int64_t>(i)}, {tokens[i]});
    if (!piece.empty()) pieces.push_back(piece);
  }
  const std::string rest = builder.finish(whole.text);
  if (!rest.empty()) pieces.push_back(rest);
  EXPECT_EQ(pieces, whole.pieces);
  EXPECT_EQ(builder.sent(), tokenizer_->decode(tokens, true));
}

TEST_F(ServeStreamText, LiveCommitsOutOfOrderWaitForTheLeadingRun) {
  const std::vector<int64_t> tokens = tokenizer_->encode(" one two three four");
  ASSERT_EQ(tokens.size(), 4u);
  StreamTextBuilder builder(*tokenizer_, {});
  EXPECT_EQ(builder.commit({1, 3}, {tokens[1], tokens[3]}), "");
  EXPECT_EQ(builder.commit({0}, {tokens[0]}), " one two");
  EXPECT_EQ(builder.commit({-5}, {tokens[0]}), "");  // ignored
  EXPECT_EQ(builder.commit({2}, {tokens[2]}), " three four");
  EXPECT_EQ(builder.finish(" one two three four"), "");
}

TEST_F(ServeStreamText, LiveTextHoldsBackWhatMayBecomeAStopString) {
  const std::vector<int64_t> tokens = tokenizer_->encode("alpha beta. gamma delta");
  StreamTextBuilder builder(*tokenizer_, {". g"});
  std::string sent;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string piece = builder.commit({static_cast<int64_t>(i)}, {tokens[i]});
    EXPECT_EQ(piece.find('.'), std::string::npos) << "the start of the stop string was sent: " << piece;
    sent += piece;
  }
  EXPECT_EQ(sent, "alpha beta");
  const StreamText whole = stream_text(*tokenizer_, tokens, {}, {". g"});
  EXPECT_EQ(whole.text, "alpha beta");
  EXPECT_EQ(builder.finish(whole.text), "");
  // A finished text that does not continue what was sent adds nothing.
  StreamTextBuilder other(*tokenizer_, {});
  EXPECT_EQ(other.commit({0}, {tokens[0]}), "alpha");
  EXPECT_EQ(other.finish("beta"), "");
}

std::string config_error(const std::string& yaml) {
  try {
    parse_serve_config(yaml, "serve.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ServeConfigFile, NamedDecodersOverSharedModels) {
  const ServeConfig config = parse_serve_config(
      "models:\n"
      "  target: {path: /m/target}\n"
      "  small: {path: /m/small, tokenizer: /m/tokenizer.json}\n"
      "decoders:\n"
      "  - {name: greedy, type: ar, model: target}\n"
      "  - {name: spec, type: speculative, model: target, draft_model: small, draft_length: 3}\n"
      "  - {name: steps, type: diffusion, model: small, steps: 8}\n",
      "serve.yaml");
  ASSERT_EQ(config.decoders.size(), 3u);
  EXPECT_EQ(config.decoders[0].spec.name, "greedy");
  EXPECT_EQ(config.decoders[1].spec.type(), "speculative");
  EXPECT_EQ(config.decoders[1].spec.model_names(), (std::vector<std::string>{"target", "small"}));
  EXPECT_EQ(std::get<DiffusionConfig>(config.decoders[2].spec.settings).steps, 8);
  EXPECT_EQ(config.models.at("small").tokenizer, "/m/tokenizer.json");
  EXPECT_EQ(*config.models.at("target").path, "/m/target");
  // A request's settings replace keys of the block; the block as written is kept.
  const runner::DecoderSpec four = with_settings(config.decoders[2], {{"steps", "4"}, {"alg", "\"entropy\""}});
  EXPECT_EQ(std::get<DiffusionConfig>(four.settings).steps, 4);
  EXPECT_EQ(std::get<DiffusionConfig>(four.settings).selection, Selection::kEntropy);
  EXPECT_EQ(four.name, "steps");
  EXPECT_EQ(std::get<DiffusionConfig>(config.decoders[2].spec.settings).steps, 8);
  try {
    with_settings(config.decoders[0], {{"steps", "4"}});
    ADD_FAILURE() << "an AR decoder took steps";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("steps: ", 0), 0u) << e.what();
  }
}

TEST(ServeConfigFile, ErrorsNameTheFileLineAndKeyPath) {
  const std::string models = "models:\n  target: {path: /m/target}\n";
  EXPECT_EQ(config_error(models + "decoders:\n  - {name: a, type: ar, model: target}\n  - {name: b, type: ar, model: target, stepz: 3}\n"),
            "serve.yaml:5: decoders[1].stepz: unknown key");
  EXPECT_NE(config_error(models + "decoders:\n  - {name: a, type: ar, model: other}\n")
                .find("serve.yaml:4: decoders[0].model: no model named 'other'"),
            std::string::npos);
  EXPECT_NE(config_error(models + "decoders:\n  - {name: a, type: ar, model: target}\n  - {name: a, type: ar, model: target}\n")
                .find("serve.yaml:5: decoders[1].name: decoder name 'a' is used twice"),
            std::string::npos);
  EXPECT_NE(config_error("models:\n  t:\n    train: {objective: ar, preset: small, steps: 1}\ndecoders:\n  - {name: a, type: ar, model: t}\n")
                .find("models.t.train: stepwise serve loads checkpoints"),
            std::string::npos);
  EXPECT_NE(config_error(models).find("decoders"), std::string::npos);
  EXPECT_NE(config_error(models + "decoders: []\n").find("decoders: expected a list with at least one decoder"),
            std::string::npos);
  EXPECT_NE(config_error(models + "decoders:\n  - {name: a, type: ar, model: target}\nport: 8000\n").find("serve.yaml:5: port: unknown key"),
            std::string::npos);
}

TEST(ServeConfigFile, TheShippedExampleParses) {
  const ServeConfig config = load_serve_config(STEPWISE_SERVE_CONFIG);
  EXPECT_EQ(config.decoders.size(), 4u);
  EXPECT_EQ(config.models.size(), 2u);
}

TEST(ServeMetricsText, HistogramBucketsAreCumulative) {
  LatencyHistogram histogram({0.1, 1.0});
  histogram.observe(0.05);
  histogram.observe(0.5);
  histogram.observe(0.5);
  histogram.observe(3.0);
  const std::string text = histogram.exposition("t");
  EXPECT_NE(text.find("t_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_bucket{le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_count 4\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace stepwise::serve
