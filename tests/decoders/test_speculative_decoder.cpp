// Speculative decoder: greedy output equals the reference greedy fixtures for every draft source, a
// draft identical to the target accepts everything, the adaptive schedule follows its rule, and sampled
// speculative decoding reproduces the target's exact token distribution (chi-square on a vocabulary of 8);
// the same for masked-diffusion drafts (full-sequence and block), whose proposals always agree when the
// draft is the target's weights as blocks of one token.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "decoders/ar_decoder.h"
#include "decoders/speculative_decoder.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/tiny_model.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::tiny_model_config;
using testing::fixture_model;
using testing::json_ids;

std::shared_ptr<const Transformer> load(const std::string& name) { return load_checkpoint(fixture_model(name)); }

SpeculativeConfig make_config(int64_t draft_length, bool adaptive = false, double temperature = 0.0) {
  SpeculativeConfig config;
  config.draft_length = draft_length;
  config.adaptive = adaptive;
  config.sampling.temperature = temperature;
  config.stop_on_eos = false;
  return config;
}

DecodeResult run(const std::shared_ptr<const Transformer>& target, const DraftSpec& draft,
                 const SpeculativeConfig& config, const std::vector<int64_t>& prompt, int64_t max_new,
                 uint64_t seed = 0) {
  SpeculativeDecoder decoder(target, draft, config);
  DecodeRequest request;
  request.prompts = {prompt};
  request.max_new_tokens = max_new;
  request.seeds = {seed};
  return decoder.decode(request);
}

TEST(SpeculativeDecoder, GreedyEqualsTargetGreedyFixtures) {
  // Each target with: another fixture model of the same vocabulary, itself, and prompt lookup.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"qwen2-tiny", "llama-tiny"}, {"qwen3-tiny", "qwen2-tiny-bf16"}, {"llama-tiny", "qwen3-tiny"}};
  for (const auto& [target_name, draft_name] : pairs) {
    const nlohmann::json expected = fixture_expected(target_name);
    const std::vector<int64_t> prompt = json_ids(expected["prompt"]);
    const std::vector<int64_t> greedy = json_ids(expected["greedy"]["expected"]);
    auto target = load(target_name);
    // Verification runs k + 1 positions against a cache: other shapes than plain greedy decoding. Every
    // greedy step wins by more than twice the float32 bound, so the tokens cannot depend on that.
    testing::expect_stable_greedy(*target, prompt, greedy, "speculative " + target_name);
    const std::vector<std::pair<std::string, DraftSpec>> drafts = {
        {draft_name, DraftModel{load(draft_name)}},
        {"itself", DraftModel{target}},
        {"ngram 2", PromptLookup{2, 1}},
    };
    for (const auto& [draft_label, draft] : drafts) {
      for (int64_t k : {1, 3, 5}) {
        for (bool adaptive : {false, true}) {
          SCOPED_TRACE(target_name + " draft " + draft_label + " k=" + std::to_string(k) +
                       (adaptive ? " adaptive" : ""));
          const DecodeResult result =
              run(target, draft, make_config(k, adaptive), prompt, static_cast<int64_t>(greedy.size()));
          EXPECT_EQ(result.tokens[0], greedy);
          EXPECT_EQ(result.stats.generated_tokens, static_cast<int64_t>(greedy.size()));
          EXPECT_LE(result.stats.forward_calls, static_cast<int64_t>(greedy.size()));
          const nlohmann::json& details = result.stats.details;
          EXPECT_EQ(details["target_forward_calls"].get<int64_t>(), result.stats.forward_calls);
          // Every round emits accepted + 1 tokens; the prefill emits one.
          EXPECT_EQ(details["accepted"].get<int64_t>() + result.stats.forward_calls,
                    static_cast<int64_t>(greedy.size()));
        }
      }
    }
  }
}

TEST(SpeculativeDecoder, DraftEqualToTargetAcceptsEverything) {
  auto target = load("qwen2-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  for (double temperature : {0.0, 1.0}) {
    SCOPED_TRACE("temperature " + std::to_string(temperature));
    const int64_t max_new = 25;  // prefill token + 6 rounds of 3 drafts + 1 bonus
    const DecodeResult result = run(target, DraftModel{target}, make_config(3, false, temperature), prompt, max_new, 4);
    // The draft runs one position per call, the target verifies four: the two agree up to float32
    // rounding. Greedy: every step is decided beyond twice the bound. Sampled: a draft token is
    // rejected only if its uniform draw exceeds p_target / p_draft, which differs from 1 by about 1e-5.
    if (temperature == 0.0) testing::expect_stable_greedy(*target, prompt, result.tokens[0], "draft = target");
    const nlohmann::json& details = result.stats.details;
    EXPECT_EQ(result.tokens[0].size(), static_cast<size_t>(max_new));
    EXPECT_EQ(details["drafted"].get<int64_t>(), 18);
    EXPECT_EQ(details["accepted"].get<int64_t>(), 18);
    EXPECT_EQ(details["draft_rounds"].get<int64_t>(), 6);
    EXPECT_DOUBLE_EQ(details["mean_acceptance_length"].get<double>(), 4.0);
    EXPECT_EQ(details["position_acceptance"], nlohmann::json::array({1.0, 1.0, 1.0}));
    EXPECT_EQ(result.stats.forward_calls, 7);
    EXPECT_EQ(details["draft_forward_calls"].get<int64_t>(), 18);
    // commit_step: the prefill token at step 0, then 4 tokens per round.
    for (size_t i = 1; i < result.commit_step[0].size(); ++i)
      EXPECT_EQ(result.commit_step[0][i], static_cast<int64_t>((i - 1) / 4 + 1));
  }
}

TEST(SpeculativeDecoder, SampledIsReproducible) {
  auto target = load("qwen2-tiny");
  auto draft = load("llama-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  const SpeculativeConfig config = make_config(3, true, 0.9);
  const DecodeResult a = run(target, DraftModel{draft}, config, prompt, 20, 9);
  EXPECT_EQ(run(target, DraftModel{draft}, config, prompt, 20, 9).tokens, a.tokens);
  EXPECT_NE(run(target, DraftModel{draft}, config, prompt, 20, 10).tokens, a.tokens);
}

// Replays Hugging Face's schedule (k += 2 after a fully accepted round, else k -= 1, minimum 1) over the
// recorded rounds and checks the requested lengths follow it.
void expect_adaptive_schedule(const DecodeResult& result, int64_t start, int64_t max_new) {
  const auto lengths = result.stats.details["draft_lengths"].get<std::vector<int64_t>>();
  int64_t schedule = start;
  int64_t emitted = 1;
  size_t round = 0;
  // commit_step groups the tokens of each round (step r + 1 = round r).
  const std::vector<int64_t>& steps = result.commit_step[0];
  ASSERT_FALSE(lengths.empty());
  for (; round < lengths.size(); ++round) {
    const int64_t requested = std::min(schedule, max_new - emitted - 1);
    EXPECT_EQ(lengths[round], requested) << "round " << round;
    const int64_t produced = std::count(steps.begin(), steps.end(), static_cast<int64_t>(round + 1));
    const int64_t accepted = produced - 1;
    emitted += produced;
    if (requested > 0) schedule = accepted == requested ? schedule + 2 : std::max<int64_t>(1, schedule - 1);
  }
  EXPECT_EQ(emitted, max_new);
}

TEST(SpeculativeDecoder, AdaptiveSchedule) {
  auto target = load("qwen2-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  // Draft == target: every round is fully accepted, so k grows by 2 until capped by the budget.
  const DecodeResult growing = run(target, DraftModel{target}, make_config(2, true), prompt, 30);
  EXPECT_EQ(growing.stats.details["draft_lengths"], nlohmann::json::array({2, 4, 6, 8, 4}));
  expect_adaptive_schedule(growing, 2, 30);
  // An unrelated draft (same vocabulary, random weights) is mostly rejected: k shrinks to 1.
  TransformerConfig unrelated_config = target->config();
  auto unrelated = random_transformer(unrelated_config, 123);
  const DecodeResult shrinking = run(target, DraftModel{unrelated}, make_config(6, true), prompt, 30);
  expect_adaptive_schedule(shrinking, 6, 30);
  EXPECT_EQ(shrinking.stats.details["draft_lengths"].back().get<int64_t>(), 1);
  const std::vector<int64_t> greedy = json_ids(fixture_expected("qwen2-tiny")["greedy"]["expected"]);
  EXPECT_EQ(std::vector<int64_t>(shrinking.tokens[0].begin(), shrinking.tokens[0].begin() + 24), greedy);
}

TEST(SpeculativeDecoder, StopIdsEndTheOutput) {
  auto target = load("qwen2-tiny");
  const nlohmann::json expected = fixture_expected("qwen2-tiny");
  const std::vector<int64_t> greedy = json_ids(expected["greedy"]["expected"]);
  SpeculativeConfig config = make_config(4);
  config.stop_ids = {greedy[6]};
  const auto first = std::find(greedy.begin(), greedy.end(), greedy[6]);
  const DecodeResult result = run(target, DraftModel{target}, config, json_ids(expected["prompt"]), 24);
  EXPECT_EQ(result.tokens[0], std::vector<int64_t>(greedy.begin(), first + 1));
}

TEST(SpeculativeDecoder, Errors) {
  auto target = load("qwen2-tiny");
  TransformerConfig small = target->config();
  small.vocab_size = 16;
  auto mismatched = random_transformer(small, 1);
  EXPECT_THROW(SpeculativeDecoder(target, DraftModel{mismatched}, make_config(4)), Error);
  try {
    SpeculativeDecoder(target, DraftModel{mismatched}, make_config(4));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocabulary"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SpeculativeDecoder(target, PromptLookup{2, 1}, make_config(0)), Error);
  EXPECT_THROW(SpeculativeDecoder(target, PromptLookup{0, 1}, make_config(2)), Error);
  SpeculativeDecoder decoder(target, PromptLookup{2, 1}, make_config(2));
  DecodeRequest batch;
  batch.prompts = {{1, 2}, {3, 4}};
  batch.max_new_tokens = 4;
  EXPECT_THROW(decoder.decode(batch), Error);
}

// --- Distribution: sampled speculative decoding is lossless. ---

constexpr int64_t kVocab = 8;

// A random model with vocabulary 8 whose weights are scaled up so that its next-token distributions are
// peaked and differ clearly between seeds (a plain random model is almost uniform).
std::shared_ptr<const Transformer> peaked_model(uint64_t seed) {
  TransformerConfig config = tiny_model_config(kVocab, 16, 1, 64);
  auto model = random_transformer(config, seed);
  torch::NoGradGuard no_grad;
  for (auto& entry : model->named_parameters())
    if (entry.first.find("norm") == std::string::npos) entry.second.mul_(12.0);
  return model;
}

// Exact joint distribution (V, V, V, V) of the first four tokens under the target's own sampling.
torch::Tensor exact_joint(const Transformer& target, const std::vector<int64_t>& prompt,
                          const SamplingParams& sampling) {
  torch::NoGradGuard no_grad;
  const int64_t length = static_cast<int64_t>(prompt.size());
  const int64_t count = kVocab * kVocab * kVocab;
  torch::Tensor suffix =
      torch::stack(torch::meshgrid({torch::arange(kVocab), torch::arange(kVocab), torch::arange(kVocab)}, "ij"), -1)
          .view({count, 3});                                                                      // (512, 3)
  torch::Tensor tokens = torch::cat({torch::tensor(prompt).expand({count, length}), suffix}, 1);  // (512, P+3)
  torch::Tensor positions = torch::arange(length + 3).expand({count, length + 3});
  torch::Tensor logits = target.forward(tokens, positions);  // (512, P+3, V)
  torch::Tensor probs = probabilities(logits.reshape({-1, kVocab}), sampling)
                            .to(torch::kFloat64)
                            .view({kVocab, kVocab, kVocab, length + 3, kVocab});
  torch::Tensor p1 = probs.index({0, 0, 0, length - 1});                                                // (V)
  torch::Tensor p2 = probs.index({torch::indexing::Slice(), 0, 0, length});                             // (V, V)
  torch::Tensor p3 = probs.index({torch::indexing::Slice(), torch::indexing::Slice(), 0, length + 1});  // (V, V, V)
  torch::Tensor p4 = probs.select(3, length + 2);                                                       // (V, V, V, V)
  return p1.view({kVocab, 1, 1, 1}) * p2.view({kVocab, kVocab, 1, 1}) * p3.view({kVocab, kVocab, kVocab, 1}) * p4;
}

// Pearson chi-square of counts against expected probabilities, cells with expected count < 5 pooled;
// returns (statistic, critical value at p = 0.001 by the Wilson-Hilferty approximation).
std::pair<double, double> chi_square(const torch::Tensor& counts, const torch::Tensor& probs) {
  const double total = counts.sum().item<double>();
  torch::Tensor expected = (probs * total).flatten();
  torch::Tensor observed = counts.to(torch::kFloat64).flatten();
  torch::Tensor small = expected < 5.0;
  double statistic = 0.0;
  int64_t bins = 0;
  for (int64_t i = 0; i < expected.size(0); ++i) {
    if (small[i].item<bool>()) continue;
    const double e = expected[i].item<double>(), o = observed[i].item<double>();
    statistic += (o - e) * (o - e) / e;
    ++bins;
  }
  const double pooled_e = expected.masked_select(small).sum().item<double>();
  const double pooled_o = observed.masked_select(small).sum().item<double>();
  if (pooled_e > 0.0) {
    statistic += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
    ++bins;
  }
  const double df = static_cast<double>(bins - 1);
  const double z = 3.090;  // upper 0.001 quantile of the standard normal
  const double h = 2.0 / (9.0 * df);
  return {statistic, df * std::pow(1.0 - h + z * std::sqrt(h), 3.0)};
}

// Samples the first four tokens `samples` times (seed = sample index) and compares every pair of
// neighbouring tokens with the exact target distribution.
void expect_target_distribution(const std::shared_ptr<Decoder>& decoder, const Transformer& target,
                                const std::vector<int64_t>& prompt, const SamplingParams& sampling, int64_t samples) {
  torch::Tensor counts = torch::zeros({kVocab, kVocab, kVocab, kVocab}, torch::kFloat64);
  auto counts_at = counts.accessor<double, 4>();
  DecodeRequest request;
  request.prompts = {prompt};
  request.max_new_tokens = 4;
  int64_t drafted = 0, accepted = 0;
  for (int64_t s = 0; s < samples; ++s) {
    request.seeds = {static_cast<uint64_t>(s)};
    const DecodeResult result = decoder->decode(request);
    const std::vector<int64_t>& t = result.tokens[0];
    ASSERT_EQ(t.size(), 4u);
    counts_at[t[0]][t[1]][t[2]][t[3]] += 1.0;
    if (result.stats.details.contains("drafted")) {
      drafted += result.stats.details["drafted"].get<int64_t>();
      accepted += result.stats.details["accepted"].get<int64_t>();
    }
  }
  if (drafted > 0) {
    // Both branches of the rule must be exercised often: acceptances and recovered tokens.
    EXPECT_GT(accepted, samples / 20) << decoder->describe();
    EXPECT_GT(drafted - accepted, samples / 20) << decoder->describe();
  }
  const torch::Tensor joint = exact_joint(target, prompt, sampling);
  const std::vector<std::vector<int64_t>> summed_out = {{2, 3}, {0, 3}, {0, 1}};  // keeps (t1,t2), (t2,t3), (t3,t4)
  for (const auto& dims : summed_out) {
    const auto [statistic, critical] = chi_square(counts.sum(dims), joint.sum(dims));
    EXPECT_LT(statistic, critical) << decoder->describe() << " pair kept after summing out dims " << dims[0] << ","
                                   << dims[1];
  }
}

TEST(SpeculativeDecoder, SampledMatchesTargetDistribution) {
  auto target = peaked_model(1);
  auto draft = peaked_model(2);
  constexpr int64_t kSamples = 1500;
  SamplingParams plain;
  plain.temperature = 1.0;
  SamplingParams filtered;
  filtered.temperature = 0.7;
  filtered.top_k = 5;

  // The reference itself: the AR decoder's samples follow the exact distribution.
  ArConfig ar;
  ar.sampling = plain;
  expect_target_distribution(std::make_shared<ArDecoder>(target, ar), *target, {1, 2, 3}, plain, kSamples);

  for (const SamplingParams& sampling : {plain, filtered}) {
    SpeculativeConfig config = make_config(2);
    config.sampling = sampling;
    expect_target_distribution(std::make_shared<SpeculativeDecoder>(target, DraftModel{draft}, config), *target,
                               {1, 2, 3}, sampling, kSamples);
  }
  // Prompt lookup drafts are point masses; a repetitive prompt makes them fire.
  SpeculativeConfig lookup = make_config(3);
  lookup.sampling = plain;
  const std::vector<int64_t> repetitive = {1, 2, 3, 1, 2, 3, 1, 2};
  expect_target_distribution(std::make_shared<SpeculativeDecoder>(target, PromptLookup{2, 1}, lookup), *target,
                             repetitive, plain, kSamples);
}


// --- Diffusion drafts: a masked-diffusion model proposes the k tokens. ---

// A copy of `model`'s weights under `config` (same tensor names and shapes).
std::shared_ptr<const Transformer> with_config(const Transformer& model, const TransformerConfig& config) {
  auto copy = random_transformer(config, 0);
  std::map<std::string, torch::Tensor> source;
  for (const auto& [name, tensor] : model.named_parameters()) source.emplace(name, tensor);
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : copy->named_parameters()) tensor.copy_(source.at(name));
  return copy;
}

// `model` as a block-diffusion model with blocks of one token and Dream's shift: each masked position is
// read from the output before it under a causal mask, i.e. exactly the AR model's next-token distribution.
std::shared_ptr<const Transformer> as_agreeing_block_draft(const Transformer& model) {
  TransformerConfig config = model.config();
  config.bidirectional = true;
  config.shift_logits = true;
  config.block_size = 1;
  config.mask_token_id = config.vocab_size - 1;
  return with_config(model, config);
}

TEST(SpeculativeDecoder, DiffusionDraftGreedyEqualsTargetGreedy) {
  for (const std::string target_name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny"}) {
    const nlohmann::json expected = fixture_expected(target_name);
    const std::vector<int64_t> prompt = json_ids(expected["prompt"]);
    const std::vector<int64_t> greedy = json_ids(expected["greedy"]["expected"]);
    auto target = load(target_name);
    testing::expect_stable_greedy(*target, prompt, greedy, "speculative " + target_name);
    for (const std::string draft_name : {"dream-tiny", "llama-bidir-tiny"}) {
      auto draft = load(draft_name);
      for (int64_t steps : {1, 2}) {
        for (int64_t k : {1, 3, 5}) {
          SCOPED_TRACE(target_name + " draft " + draft_name + " steps " + std::to_string(steps) + " k=" +
                       std::to_string(k));
          const DecodeResult result = run(target, DraftModel{draft, steps}, make_config(k), prompt,
                                          static_cast<int64_t>(greedy.size()));
          EXPECT_EQ(result.tokens[0], greedy);
          const nlohmann::json& details = result.stats.details;
          EXPECT_EQ(details["accepted"].get<int64_t>() + result.stats.forward_calls,
                    static_cast<int64_t>(greedy.size()));
          // One forward per round when it fits, `steps` forwards otherwise (fewer drafts than steps: one each).
          const int64_t rounds = details["draft_rounds"].get<int64_t>();
          EXPECT_GE(details["draft_forward_calls"].get<int64_t>(), rounds);
          EXPECT_LE(details["draft_forward_calls"].get<int64_t>(), rounds * std::min(steps, k));
          EXPECT_NE(details["draft"].get<std::string>().find("diffusion draft"), std::string::npos);
        }
      }
    }
  }
}

TEST(SpeculativeDecoder, AgreeingDiffusionDraftIsFullyAccepted) {
  auto target = load("qwen2-tiny");
  auto draft = as_agreeing_block_draft(*target);
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  for (double temperature : {0.0, 1.0}) {
    SCOPED_TRACE("temperature " + std::to_string(temperature));
    const int64_t max_new = 25;  // prefill token + 6 rounds of 3 drafts + 1 bonus
    // Three forwards per round, one position each: every draft is the target's own next-token choice
    // (greedy: the argmax; sampled: a draw from the same distribution up to float32 rounding, which
    // moves p / q from 1 by about 1e-5).
    const DecodeResult result =
        run(target, DraftModel{draft, 3}, make_config(3, false, temperature), prompt, max_new, 4);
    if (temperature == 0.0) testing::expect_stable_greedy(*target, prompt, result.tokens[0], "diffusion draft");
    const nlohmann::json& details = result.stats.details;
    EXPECT_EQ(result.tokens[0].size(), static_cast<size_t>(max_new));
    EXPECT_EQ(details["drafted"].get<int64_t>(), 18);
    EXPECT_EQ(details["accepted"].get<int64_t>(), 18);
    EXPECT_DOUBLE_EQ(details["mean_acceptance_length"].get<double>(), 4.0);
    EXPECT_EQ(result.stats.forward_calls, 7);
    EXPECT_EQ(details["draft_forward_calls"].get<int64_t>(), 18);
  }
}

// A peaked model of vocabulary 8 as a masked-diffusion draft (mask id 7): full-sequence (bidirectional)
// or block diffusion with blocks of `block_size`.
std::shared_ptr<const Transformer> peaked_diffusion_model(uint64_t seed, std::optional<int64_t> block_size) {
  auto peaked = peaked_model(seed);
  TransformerConfig config = peaked->config();
  config.bidirectional = true;
  config.shift_logits = true;
  config.mask_token_id = kVocab - 1;
  config.block_size = block_size;
  return with_config(*peaked, config);
}

TEST(SpeculativeDecoder, DiffusionDraftSampledMatchesTargetDistribution) {
  auto target = peaked_model(1);
  constexpr int64_t kSamples = 1500;
  SamplingParams plain;
  plain.temperature = 1.0;
  // Full-sequence drafts with one forward (both drafts drawn independently) and two (left to right), and
  // a block draft whose context blocks are cached.
  const std::vector<std::pair<std::optional<int64_t>, int64_t>> drafts = {{std::nullopt, 1}, {std::nullopt, 2}, {2, 2}};
  for (const auto& [block_size, steps] : drafts) {
    SpeculativeConfig config = make_config(2);
    config.sampling = plain;
    DraftModel draft{peaked_diffusion_model(2, block_size), steps};
    expect_target_distribution(std::make_shared<SpeculativeDecoder>(target, draft, config), *target, {1, 2, 3},
                               plain, kSamples);
  }
}

}  // namespace
}  // namespace stepwise
