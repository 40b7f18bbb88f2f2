// Exact properties of the diffusion decoder on the fixture models: schedule arithmetic, one reveal per
// step when steps == tokens (after Dream's empty first step), NFE == steps, threshold 1.0 degenerating
// to one token per step (and then equal to LLaDA's one-per-step reference), KV-cache modes equal to no
// cache when refreshed every step (and on a one-layer model, where the cache is exact, at every
// step), fixed spans never changing, and clear errors for bad settings.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/diffusion/remasking_decoder.h"
#include "decoders/diffusion/schedule.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::fixture_model;
using testing::json_ids;
using testing::expect_firm_diffusion_decisions;

std::vector<int64_t> reveals_of(const DecodeResult& result, size_t row = 0) {
  return result.stats.details["reveals_per_step"][row].get<std::vector<int64_t>>();
}

DecodeResult run(const std::shared_ptr<const Transformer>& model, const DiffusionConfig& config,
                 std::vector<std::vector<int64_t>> prompts, int64_t gen_len, bool trace = false) {
  DecodeRequest request;
  request.prompts = std::move(prompts);
  request.max_new_tokens = gen_len;
  request.record_trace = trace;
  return DiffusionDecoder(model, config).decode(request);
}

std::vector<int64_t> simulate(const RevealSchedule& schedule, int64_t masked) {
  std::vector<int64_t> out;
  const int64_t start = masked;
  for (int64_t step = 0; step < schedule.steps(); ++step) {
    const int64_t n = schedule.count(step, masked, start);
    out.push_back(n);
    masked -= n;
  }
  return out;
}

TEST(RevealSchedule, DreamTimeGridMatchesTheReferenceCounts) {
  // The reveals_per_step of the dream-tiny fixture cases (Dream's float32 arithmetic).
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kDreamTimeGrid, 8, 1e-3), 16),
            (std::vector<int64_t>{1, 2, 2, 2, 2, 2, 2, 3}));
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kDreamTimeGrid, 4, 1e-3), 16), (std::vector<int64_t>{3, 4, 4, 5}));
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kDreamTimeGrid, 6, 1e-3), 24), (std::vector<int64_t>{3, 4, 4, 4, 4, 5}));
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kDreamTimeGrid, 1, 1e-3), 12), (std::vector<int64_t>{12}));
}

TEST(RevealSchedule, LladaEvenSplitPutsTheRemainderFirst) {
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kLladaEvenSplit, 4, 1e-3), 10), (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kLladaEvenSplit, 8, 1e-3), 3),
            (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0}));
}

TEST(RevealSchedule, CosineKeepsFloorOfCosineMasked) {
  // keep after step i = floor(16 cos(pi/2 (i+1)/4)) = 14, 11, 6, 0.
  EXPECT_EQ(simulate(RevealSchedule(Schedule::kCosine, 4, 1e-3), 16), (std::vector<int64_t>{2, 3, 5, 6}));
}

TEST(RevealSchedule, DreamOriginProbabilityIsOneMinusSOverT) {
  RevealSchedule schedule(Schedule::kDreamTimeGrid, 4, 1e-3);
  const auto& t = schedule.timesteps();
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t.front(), 1.0f);
  EXPECT_FLOAT_EQ(t.back(), 1e-3f);
  EXPECT_EQ(schedule.transfer_probability(1), 1.0f - t[2] / t[1]);
  EXPECT_EQ(schedule.transfer_probability(3), 1.0f);
}

class DreamTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = load_checkpoint(fixture_model("dream-tiny"));
    prompt_ = json_ids(fixture_expected("dream-tiny")["prompt"]);
  }
  std::shared_ptr<const Transformer> model_;
  std::vector<int64_t> prompt_;
};

TEST_F(DreamTiny, StepsEqualToTokensRevealOnePerStepAfterAnEmptyFirstStep) {
  for (Selection selection : {Selection::kEntropy, Selection::kMaskgitPlus, Selection::kTopkMargin})
    for (int64_t n : {4, 12, 16, 20, 32}) {
      DiffusionConfig config;
      config.selection = selection;
      config.steps = n;
      const DecodeResult result = run(model_, config, {prompt_}, n);
      std::vector<int64_t> expected(static_cast<size_t>(n), 1);
      expected.front() = 0;
      expected.back() = 2;
      EXPECT_EQ(reveals_of(result), expected) << to_string(selection) << " n=" << n;
      EXPECT_EQ(result.stats.forward_calls, n);
    }
}

TEST_F(DreamTiny, NfeEqualsStepsWithoutThreshold) {
  for (int64_t steps : {1, 3, 16, 40}) {
    DiffusionConfig config;
    config.selection = Selection::kMaskgitPlus;
    config.steps = steps;
    const DecodeResult result = run(model_, config, {prompt_}, 16);
    EXPECT_EQ(result.stats.forward_calls, steps);
    EXPECT_EQ(result.stats.details["steps"].get<int64_t>(), steps);
    int64_t revealed = 0;
    for (int64_t n : reveals_of(result)) revealed += n;
    EXPECT_EQ(revealed, 16);
    for (int64_t token : result.tokens[0]) EXPECT_NE(token, 383);
  }
  DiffusionConfig cached;
  cached.selection = Selection::kEntropy;
  cached.steps = 8;
  cached.block_length = 4;
  for (CacheMode mode : {CacheMode::kPrefix, CacheMode::kDual}) {
    cached.cache = mode;
    const DecodeResult result = run(model_, cached, {prompt_}, 16);
    EXPECT_EQ(result.stats.forward_calls, 8) << to_string(mode);
    EXPECT_EQ(result.stats.details["full_forwards"].get<int64_t>(), 4);
    EXPECT_EQ(result.stats.details["partial_forwards"].get<int64_t>(), 4);
    // Refresh: the whole canvas; later steps: [block_start - 1, W) (prefix) or the block plus one (dual).
    const auto fed = result.stats.details["tokens_fed_per_step"].get<std::vector<int64_t>>();
    const int64_t width = static_cast<int64_t>(prompt_.size()) + 16;
    if (mode == CacheMode::kPrefix)
      EXPECT_EQ(fed, (std::vector<int64_t>{width, 17, width, 13, width, 9, width, 5}));
    else
      EXPECT_EQ(fed, (std::vector<int64_t>{width, 5, width, 5, width, 5, width, 5}));
  }
}

TEST(ThresholdDecoding, ThresholdOneDegeneratesToOneTokenPerStep) {
  // Confidence never reaches 1.0, so only the forced top-1 is committed: LLaDA's one-per-step order.
  auto model = load_checkpoint(fixture_model("llama-bidir-tiny"));
  const nlohmann::json expected = fixture_expected("llama-bidir-tiny");
  for (size_t index : {1u, 2u}) {  // the fixture cases with steps == gen_len (blocks 16 and 4)
    const nlohmann::json& c = expected["diffusion_cases"][index];
    ASSERT_EQ(c["steps"], c["gen_len"]);
    DiffusionConfig config;
    config.selection = Selection::kLowConfidence;
    config.schedule = Schedule::kLladaEvenSplit;
    config.block_length = c["block_length"].get<int64_t>();
    config.threshold = 1.0;
    const int64_t n = c["gen_len"].get<int64_t>();
    const DecodeResult result = run(model, config, {json_ids(expected["prompt"])}, n);
    EXPECT_EQ(result.tokens[0], json_ids(c["expected"]));
    EXPECT_EQ(reveals_of(result), std::vector<int64_t>(static_cast<size_t>(n), 1));
    EXPECT_EQ(result.stats.forward_calls, n);
  }
}

TEST_F(DreamTiny, ThresholdOneWithDreamConfidenceIsOnePerStep) {
  for (Selection selection : {Selection::kMaskgitPlus, Selection::kTopkMargin}) {
    DiffusionConfig config;
    config.selection = selection;
    config.threshold = 1.0;
    config.block_length = 8;
    const DecodeResult result = run(model_, config, {prompt_}, 16);
    EXPECT_EQ(reveals_of(result), std::vector<int64_t>(16, 1)) << to_string(selection);
    EXPECT_EQ(result.stats.forward_calls, 16);
  }
}

// Same tokens, commit steps and NFE with and without the cache.
void expect_same_decode(const DecodeResult& cached, const DecodeResult& plain, const std::string& what) {
  EXPECT_EQ(cached.tokens, plain.tokens) << what;
  EXPECT_EQ(cached.commit_step, plain.commit_step) << what;
  EXPECT_EQ(cached.stats.forward_calls, plain.stats.forward_calls) << what;
}

TEST(CacheModes, RefreshedEveryStepEqualNoCache) {
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    auto model = load_checkpoint(fixture_model(name));
    const std::vector<int64_t> prompt = json_ids(fixture_expected(name)["prompt"]);
    DiffusionConfig config;
    config.selection = Selection::kLowConfidence;
    config.schedule = Schedule::kLladaEvenSplit;
    config.block_length = 1;  // one step per block: every step is a refresh
    config.steps = 12;
    for (bool guidance : {false, true}) {
      config.cfg_scale = guidance ? std::optional<double>(1.0) : std::nullopt;
      config.cache = CacheMode::kNone;
      const DecodeResult plain = run(model, config, {prompt}, 12, /*trace=*/true);
      // A refresh is a full forward, but through the cache's key and value buffers: other operand layouts
      // than without a cache, so the logits are equal only up to rounding. Each step has one candidate
      // (blocks of one), so the tokens are comparable because every committed token (of the guided
      // logits, with guidance) wins by more than twice the float32 bound: smallest margin 0.015 (twice the
      // bound 3.3e-4; guided 0.030 against 1.0e-3).
      const testing::CommittedMargin committed = testing::min_committed_margin(
          *model, prompt, plain.history, 0, *model->config().mask_token_id, config.cfg_scale);
      testing::expect_margin_above(committed.margin, testing::stable_top_two_gap(committed.bound),
                                   name + (guidance ? " guided" : "") + " without cache");
      for (CacheMode mode : {CacheMode::kPrefix, CacheMode::kDual}) {
        config.cache = mode;
        expect_same_decode(run(model, config, {prompt}, 12), plain, name + " " + to_string(mode));
      }
    }
  }
}

// With one layer, keys and values depend only on each token and its position, so the cached prefix and
// suffix are exact and partial forwards give the full forward's logits.
TEST(CacheModes, ExactOnAOneLayerModelAtEveryStep) {
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    auto fixture = load_checkpoint(fixture_model(name));
    TransformerConfig shape = fixture->config();
    shape.num_layers = 1;
    auto model = random_transformer(shape, 13);
    // Sharpen the output (logit std ~3 instead of ~0.16) so a threshold commits several tokens some steps
    // and one token others, and the attention (queries and keys x20) so masked positions, which differ
    // only by their position, get distinct confidences: with the random model's flat attention their
    // commit order was decided by confidence gaps of 3e-5 logits, within rounding of partial forwards.
    // With these weights every decision is firmer than 10x the rounding bound (checked below).
    torch::NoGradGuard no_grad;
    for (auto& [tensor_name, tensor] : model->named_parameters()) {
      if (tensor_name == "lm_head.weight") tensor.mul_(20.0);
      const bool query_or_key = tensor_name.find("q_proj.weight") != std::string::npos ||
                                tensor_name.find("k_proj.weight") != std::string::npos;
      if (query_or_key) tensor.mul_(20.0);
    }
    const std::vector<int64_t> prompt = json_ids(fixture_expected(name)["prompt"]);
    for (bool threshold : {false, true}) {
      DiffusionConfig config;
      config.selection = Selection::kMaskgitPlus;
      config.schedule = Schedule::kLladaEvenSplit;
      config.block_length = 8;
      config.steps = 12;
      if (threshold) config.threshold = 0.3;
      const DecodeResult plain = run(model, config, {prompt, prompt}, 24, /*trace=*/true);
      // Partial forwards are other shapes than full ones: equal only if no decision lies within rounding.
      expect_firm_diffusion_decisions(plain.stats.details, model->config(), std::nullopt,
                                      static_cast<int64_t>(prompt.size()) + 24, name);
      for (CacheMode mode : {CacheMode::kPrefix, CacheMode::kDual}) {
        config.cache = mode;
        const DecodeResult cached = run(model, config, {prompt, prompt}, 24);
        expect_same_decode(cached, plain, name + " " + to_string(mode));
        EXPECT_GT(cached.stats.details["partial_forwards"].get<int64_t>(), 0);
        if (threshold) EXPECT_LT(cached.stats.details["steps"].get<int64_t>(), 2 * 24);  // several per step
      }
    }
  }
}

TEST_F(DreamTiny, FixedSpansAreNeverChanged) {
  // Infilling: the generation's start and end are given; the middle is filled in.
  const std::vector<FixedToken> fixed = {{0, 17}, {1, 18}, {9, 5}, {14, 250}, {15, 382}};
  std::vector<DiffusionConfig> configs(4);
  configs[0].selection = Selection::kEntropy;
  configs[0].steps = 16;
  configs[1].selection = Selection::kLowConfidence;
  configs[1].schedule = Schedule::kLladaEvenSplit;
  configs[1].block_length = 4;
  configs[1].steps = 8;
  configs[1].cache = CacheMode::kDual;
  configs[2] = configs[1];
  configs[2].threshold = 0.5;
  configs[2].cache = CacheMode::kPrefix;
  configs[3].selection = Selection::kOrigin;
  configs[3].steps = 5;
  configs[3].sampling.temperature = 1.0;
  for (DiffusionConfig& config : configs) {
    config.fixed = fixed;
    const DecodeResult result = run(model_, config, {prompt_}, 16, /*trace=*/true);
    ASSERT_FALSE(result.history.empty());
    for (const auto& step : result.history)
      for (const FixedToken& f : fixed) EXPECT_EQ(step[0][static_cast<size_t>(f.position)], f.token);
    int64_t revealed = 0;
    for (int64_t n : reveals_of(result)) revealed += n;
    EXPECT_EQ(revealed, 16 - static_cast<int64_t>(fixed.size()));
    for (const FixedToken& f : fixed) EXPECT_EQ(result.commit_step[0][static_cast<size_t>(f.position)], -1);
  }
  RemaskingConfig remask;
  remask.steps = 6;
  remask.fixed = fixed;
  remask.noise_scale = 0.5;
  DecodeRequest request;
  request.prompts = {prompt_};
  request.max_new_tokens = 16;
  request.record_trace = true;
  const DecodeResult result = RemaskingDecoder(model_, remask).decode(request);
  for (const auto& step : result.history)
    for (const FixedToken& f : fixed) EXPECT_EQ(step[0][static_cast<size_t>(f.position)], f.token);
}

TEST_F(DreamTiny, BadSettingsAreClearErrors) {
  auto expect_error = [&](const DiffusionConfig& config, int64_t gen_len, const std::string& fragment) {
    try {
      run(model_, config, {prompt_}, gen_len);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  DiffusionConfig config;
  config.block_length = 5;
  expect_error(config, 16, "multiple of block_length");
  config.block_length = 4;
  config.steps = 6;
  expect_error(config, 16, "split evenly");
  config = DiffusionConfig{};
  config.fixed = {{16, 3}};
  expect_error(config, 16, "fixed position 16");
  config.fixed = {{2, 383}};
  expect_error(config, 16, "mask token");
  config = DiffusionConfig{};
  config.selection = Selection::kOrigin;
  config.schedule = Schedule::kCosine;
  EXPECT_THROW(DiffusionDecoder decoder(model_, config), Error);
  config = DiffusionConfig{};
  config.steps = 0;
  EXPECT_THROW(DiffusionDecoder decoder(model_, config), Error);
  EXPECT_THROW(parse_selection("confidence"), Error);
  EXPECT_THROW(parse_cache_mode("full"), Error);

  auto causal = load_checkpoint(fixture_model("qwen2-tiny"));
  try {
    DiffusionDecoder decoder(causal, DiffusionConfig{});
    ADD_FAILURE() << "a model without a mask token was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mask_token_id"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stepwise
