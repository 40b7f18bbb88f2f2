// AR decoder against the reference fixtures (greedy and left-padded greedy batches of every causal
// model), and its exact properties: cache == recompute, per-row seeded sampling independent of the
// batch, stop ids that freeze finished rows, the forward-call count. Also the autoregressive flags of
// `stepwise generate` (experiments/cli/decoder_flags.cpp). Greedy tokens are compared exactly:
// each test first checks that every greedy choice wins by more than twice the float32 bound of
// tests/support/numeric_bounds.h, so no BLAS kernel's rounding can flip it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "experiments/cli/decoder_flags.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"
#include "tests/support/tiny_model.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::tiny_model_config;
using testing::fixture_model;
using testing::expect_stable_greedy;
using testing::json_ids;

const char* const kCausalModels[] = {"qwen2-tiny", "qwen3-tiny", "llama-tiny"};

std::shared_ptr<const Transformer> load(const std::string& name, torch::ScalarType dtype = torch::kFloat32) {
  return load_checkpoint(fixture_model(name), LoadOptions{dtype, torch::kCPU});
}

ArConfig greedy_no_stop() {
  ArConfig config;
  config.stop_on_eos = false;  // the fixtures decode a fixed number of tokens
  return config;
}

ArConfig sampled(double temperature, bool use_cache = true) {
  ArConfig config = greedy_no_stop();
  config.sampling.temperature = temperature;
  config.use_cache = use_cache;
  return config;
}

DecodeResult run(const std::shared_ptr<const Transformer>& model, const ArConfig& config,
                 std::vector<std::vector<int64_t>> prompts, int64_t max_new, std::vector<uint64_t> seeds = {}) {
  ArDecoder decoder(model, config);
  DecodeRequest request;
  request.prompts = std::move(prompts);
  request.max_new_tokens = max_new;
  request.seeds = std::move(seeds);
  return decoder.decode(request);
}

TEST(ArDecoder, GreedyMatchesFixtures) {
  for (const char* name : kCausalModels) {
    SCOPED_TRACE(name);
    const nlohmann::json expected = fixture_expected(name);
    auto model = load(name);
    // Smallest top-two gaps over the 24 steps: qwen2-tiny 0.063, qwen3-tiny 0.014, llama-tiny 0.053,
    // against twice the float32 bound, about 3e-4.
    expect_stable_greedy(*model, json_ids(expected["prompt"]), json_ids(expected["greedy"]["expected"]),
                         std::string("greedy ") + name);
    for (bool use_cache : {true, false}) {
      ArConfig config = greedy_no_stop();
      config.use_cache = use_cache;
      const DecodeResult result =
          run(model, config, {json_ids(expected["prompt"])}, expected["greedy"]["max_new_tokens"].get<int64_t>());
      ASSERT_EQ(result.tokens.size(), 1u);
      EXPECT_EQ(result.tokens[0], json_ids(expected["greedy"]["expected"])) << "use_cache=" << use_cache;
      EXPECT_EQ(result.stats.forward_calls, expected["greedy"]["max_new_tokens"].get<int64_t>());
      EXPECT_EQ(result.stats.generated_tokens, static_cast<int64_t>(result.tokens[0].size()));
      for (size_t i = 0; i < result.commit_step[0].size(); ++i)
        EXPECT_EQ(result.commit_step[0][i], static_cast<int64_t>(i));
    }
  }
}

TEST(ArDecoder, FirstTokenIsArgmaxOfReferenceLogits) {
  // The reference logits of the last prompt position are independent of the greedy fixture.
  for (const char* name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen2-tiny-bf16"}) {
    SCOPED_TRACE(name);
    const nlohmann::json expected = fixture_expected(name);
    const torch::Tensor logits = testing::json_matrix(expected["causal_logits"]);  // (T, V)
    // Top-two gaps of the last row: 0.46, 0.035, 0.053, 0.43; twice the float32 bound is under 3e-4.
    auto model = load(name);
    const double bound = testing::float32_bound(testing::max_abs(logits),
                                                testing::forward_reduction_length(model->config(), logits.size(0)));
    testing::expect_margin_above(testing::top_two_gaps(logits)[-1].item<double>(), testing::stable_top_two_gap(bound),
                                 std::string("first token ") + name);
    const DecodeResult result = run(model, greedy_no_stop(), {json_ids(expected["prompt"])}, 1);
    EXPECT_EQ(result.tokens[0], std::vector<int64_t>{logits[-1].argmax().item<int64_t>()});
  }
}

TEST(ArDecoder, GreedyBatchMatchesFixtures) {
  for (const char* name : kCausalModels) {
    SCOPED_TRACE(name);
    const nlohmann::json case_json = fixture_expected(name)["greedy_batch"];
    auto model = load(name);
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& prompt : case_json["prompts"]) prompts.push_back(json_ids(prompt));
    const int64_t max_new = case_json["max_new_tokens"].get<int64_t>();
    // Smallest top-two gaps of the two rows' 16 steps: see ArDecoder.GreedyMatchesFixtures' comment.
    for (size_t row = 0; row < 2; ++row)
      expect_stable_greedy(*model, prompts[row], json_ids(case_json["expected"][row]),
                           std::string("greedy batch ") + name + " row " + std::to_string(row));
    for (bool use_cache : {true, false}) {
      ArConfig config = greedy_no_stop();
      config.use_cache = use_cache;
      const DecodeResult batch = run(model, config, prompts, max_new);
      ASSERT_EQ(batch.tokens.size(), 2u);
      for (size_t row = 0; row < 2; ++row) {
        EXPECT_EQ(batch.tokens[row], json_ids(case_json["expected"][row])) << "row " << row << " cache " << use_cache;
        EXPECT_EQ(run(model, config, {prompts[row]}, max_new).tokens[0], batch.tokens[row]);
      }
      EXPECT_EQ(batch.stats.forward_calls, max_new);
      EXPECT_EQ(batch.stats.generated_tokens, 2 * max_new);
    }
  }
}

TEST(ArDecoder, Bfloat16GreedyRunsAndCacheEqualsRecompute) {
  const nlohmann::json expected = fixture_expected("qwen2-tiny-bf16");
  const std::vector<int64_t> prompt = json_ids(expected["prompt"]);
  ArConfig cached = greedy_no_stop();
  ArConfig recompute = greedy_no_stop();
  recompute.use_cache = false;

  // The BF16 checkpoint computed in float32: cache and recompute agree exactly, every step being
  // decided by more than twice the float32 bound.
  auto wide = load("qwen2-tiny-bf16", torch::kFloat32);
  const std::vector<int64_t> wide_tokens = run(wide, cached, {prompt}, 24).tokens[0];
  expect_stable_greedy(*wide, prompt, wide_tokens, "greedy qwen2-tiny-bf16 in float32");
  EXPECT_EQ(run(wide, recompute, {prompt}, 24).tokens[0], wide_tokens);

  // Computed in bfloat16 the logits are bf16-rounded, so exact ties occur; the two paths must agree
  // until the first step whose two candidates are closer than two bfloat16 computations in different
  // orders can move them (the bound of tests/support/numeric_bounds.h).
  auto model = load("qwen2-tiny-bf16", torch::kBFloat16);
  const std::vector<int64_t> a = run(model, cached, {prompt}, 24).tokens[0];
  const std::vector<int64_t> b = run(model, recompute, {prompt}, 24).tokens[0];
  ASSERT_EQ(a.size(), 24u);
  ASSERT_EQ(b.size(), 24u);
  for (int64_t token : a) EXPECT_TRUE(token >= 0 && token < model->config().vocab_size);
  const size_t split = static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
  if (split < a.size()) {
    std::vector<int64_t> prefix = prompt;
    prefix.insert(prefix.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(split));
    torch::NoGradGuard no_grad;
    const int64_t length = static_cast<int64_t>(prefix.size());
    torch::Tensor logits = model->forward(torch::tensor(prefix).view({1, length}),
                                          torch::arange(length).view({1, length}), {})[0][-1];  // (V)
    const double gap = std::abs(logits[a[split]].item<double>() - logits[b[split]].item<double>());
    const int64_t roundings = testing::bfloat16_forward_roundings(model->config().num_layers);
    const double bound = testing::bfloat16_pair_bound(testing::max_abs(logits), roundings);
    testing::expect_within_bound(gap, testing::stable_top_two_gap(bound),
                                 "bf16 cache and recompute diverge at step " + std::to_string(split) + ": top-two gap");
  }
}

TEST(ArDecoder, SampledCacheEqualsRecompute) {
  const nlohmann::json case_json = fixture_expected("qwen3-tiny")["greedy_batch"];
  auto model = load("qwen3-tiny");
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& prompt : case_json["prompts"]) prompts.push_back(json_ids(prompt));
  const DecodeResult a = run(model, sampled(0.8, true), prompts, 12, {5, 6});
  const DecodeResult b = run(model, sampled(0.8, false), prompts, 12, {5, 6});
  EXPECT_EQ(a.tokens, b.tokens);
}

TEST(ArDecoder, SampledIsReproducibleAndPerRow) {
  const nlohmann::json case_json = fixture_expected("qwen2-tiny")["greedy_batch"];
  auto model = load("qwen2-tiny");
  const std::vector<int64_t> short_prompt = json_ids(case_json["prompts"][0]);
  const std::vector<int64_t> long_prompt = json_ids(case_json["prompts"][1]);
  ArConfig config = sampled(1.0);
  config.sampling.top_k = 50;

  const DecodeResult alone_short = run(model, config, {short_prompt}, 20, {7});
  const DecodeResult alone_long = run(model, config, {long_prompt}, 20, {11});
  EXPECT_EQ(run(model, config, {short_prompt}, 20, {7}).tokens, alone_short.tokens);
  EXPECT_NE(run(model, config, {short_prompt}, 20, {8}).tokens, alone_short.tokens);

  const DecodeResult batch = run(model, config, {short_prompt, long_prompt}, 20, {7, 11});
  EXPECT_EQ(batch.tokens[0], alone_short.tokens[0]);
  EXPECT_EQ(batch.tokens[1], alone_long.tokens[0]);
  const DecodeResult swapped = run(model, config, {long_prompt, short_prompt, long_prompt}, 20, {11, 7, 3});
  EXPECT_EQ(swapped.tokens[0], alone_long.tokens[0]);
  EXPECT_EQ(swapped.tokens[1], alone_short.tokens[0]);
  for (int64_t token : swapped.tokens[2]) EXPECT_TRUE(token >= 0 && token < model->config().vocab_size);
}

TEST(ArDecoder, StopIdsFreezeFinishedRows) {
  const nlohmann::json case_json = fixture_expected("qwen2-tiny")["greedy_batch"];
  auto model = load("qwen2-tiny");
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& prompt : case_json["prompts"]) prompts.push_back(json_ids(prompt));
  const std::vector<int64_t> row0 = json_ids(case_json["expected"][0]);
  const std::vector<int64_t> row1 = json_ids(case_json["expected"][1]);
  const int64_t max_new = case_json["max_new_tokens"].get<int64_t>();

  // Row 1 stops at its third token; row 0 never produces that id and must run on unaffected.
  ArConfig config = greedy_no_stop();
  config.stop_ids = {row1[2]};
  ASSERT_EQ(std::find(row0.begin(), row0.end(), row1[2]), row0.end());
  const DecodeResult one_stops = run(model, config, prompts, max_new);
  EXPECT_EQ(one_stops.tokens[0], row0);
  EXPECT_EQ(one_stops.tokens[1], std::vector<int64_t>(row1.begin(), row1.begin() + 3));
  EXPECT_EQ(one_stops.stats.forward_calls, max_new);

  // Both rows stop: decoding ends after the later of the two.
  config.stop_ids = {row1[2], row0[4]};
  const DecodeResult both_stop = run(model, config, prompts, max_new);
  EXPECT_EQ(both_stop.tokens[0], std::vector<int64_t>(row0.begin(), row0.begin() + 5));
  EXPECT_EQ(both_stop.tokens[1], std::vector<int64_t>(row1.begin(), row1.begin() + 3));
  EXPECT_EQ(both_stop.stats.forward_calls, 5);
  EXPECT_EQ(both_stop.stats.generated_tokens, 8);
}

TEST(ArDecoder, StopsOnTheModelsEos) {
  // Same weights (same seed), once without and once with an EOS id the greedy run produces.
  TransformerConfig config = tiny_model_config(32, 32);
  auto free_running = random_transformer(config, 3);
  const std::vector<int64_t> prompt = {1, 2, 3, 4};
  const std::vector<int64_t> full = run(free_running, ArConfig{}, {prompt}, 12).tokens[0];
  ASSERT_EQ(full.size(), 12u);  // no eos ids configured: nothing stops it

  config.eos_token_ids = {full[5]};
  auto with_eos = random_transformer(config, 3);
  const auto first = std::find(full.begin(), full.end(), full[5]);
  const std::vector<int64_t> until_eos(full.begin(), first + 1);
  EXPECT_EQ(run(with_eos, ArConfig{}, {prompt}, 12).tokens[0], until_eos);
  ArConfig ignore_eos;
  ignore_eos.stop_on_eos = false;
  EXPECT_EQ(run(with_eos, ignore_eos, {prompt}, 12).tokens[0], full);
}

TEST(ArDecoder, EdgeCasesAndErrors) {
  auto model = load("qwen2-tiny");
  const DecodeResult none = run(model, ArConfig{}, {{1, 2, 3}}, 0);
  EXPECT_TRUE(none.tokens[0].empty());
  EXPECT_EQ(none.stats.forward_calls, 0);
  EXPECT_THROW(run(model, ArConfig{}, {{}}, 4), Error);
  EXPECT_THROW(run(model, ArConfig{}, {{1, 2}, {3}}, 4, {1}), Error);
  EXPECT_THROW(run(model, ArConfig{}, {{1, 100000}}, 4), Error);
}

std::unique_ptr<Decoder> from_flags(const std::vector<std::string>& args, std::shared_ptr<const Transformer> model) {
  ArgParser parser("test", "decoder flags");
  cli::add_decoder_flags(parser);
  EXPECT_TRUE(parser.parse(args));
  return cli::make_cli_decoder(cli::decoder_spec_from_flags(parser, std::cerr), parser, std::move(model));
}

TEST(AutoregressiveFlags, BuildTheDecodersTheyName) {
  const nlohmann::json expected = fixture_expected("qwen2-tiny");
  auto model = load("qwen2-tiny");
  DecodeRequest request;
  request.prompts = {json_ids(expected["prompt"])};
  request.max_new_tokens = expected["greedy"]["max_new_tokens"].get<int64_t>();
  const std::vector<int64_t> greedy = json_ids(expected["greedy"]["expected"]);
  const std::vector<std::vector<std::string>> greedy_flag_sets = {
      {"--decoder", "ar", "--ignore-eos"},
      {"--decoder", "ar", "--ignore-eos", "--no-cache"},
      {"--decoder", "speculative", "--ignore-eos", "--draft-ngram", "2", "--draft-length", "3", "--adaptive"},
      {"--decoder", "speculative", "--ignore-eos", "--draft", fixture_model("llama-tiny")},
  };
  for (const auto& flags : greedy_flag_sets) {
    auto decoder = from_flags(flags, model);
    EXPECT_EQ(decoder->decode(request).tokens[0], greedy) << decoder->describe();
  }
  auto no_cache = from_flags({"--decoder", "ar", "--no-cache"}, model);
  EXPECT_NE(no_cache->describe().find("no-cache"), std::string::npos);
  auto sampled = from_flags({"--decoder", "ar", "--temperature", "0.7", "--top-k", "20"}, model);
  EXPECT_EQ(sampled->describe().rfind("ar sampled", 0), 0u);
}

TEST(AutoregressiveFlags, RejectFlagsThatDoNotApply) {
  auto model = load("qwen2-tiny");
  EXPECT_THROW(from_flags({"--decoder", "ar", "--draft-ngram", "2"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "ar", "--adaptive"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "speculative", "--draft-ngram", "2", "--no-cache"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "speculative"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "speculative", "--draft-ngram", "2", "--draft", "x"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "speculative", "--draft-ngram", "0"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "speculative", "--draft-ngram", "2", "--draft-length", "0"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "ar", "--temperature", "-1"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "ar", "--top-p", "1.5"}, model), Error);
  EXPECT_THROW(from_flags({"--decoder", "beam"}, model), Error);
}

}  // namespace
}  // namespace stepwise
