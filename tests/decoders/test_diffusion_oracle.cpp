// Every diffusion decoding mode, run through the real decoders against an oracle model that knows the
// answer, must reconstruct that answer: Dream and LLaDA rules, every schedule, blocks, alg_temp,
// sampling, guidance, threshold decoding, prefix and dual caches, fixed spans, more steps than tokens,
// and the remasking decoder; with and without the logit shift. Also exact NFE counts per mode.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/diffusion/remasking_decoder.h"
#include "tests/support/diffusion_oracle.h"

namespace stepwise {
namespace {

using testing::OracleDenoiser;

constexpr int64_t kGenLen = 16;
const std::vector<int64_t> kPrompt = {5, 6, 7, 8, 9};
const std::vector<int64_t> kAnswer = {11, 40, 3, 3, 27, 59, 1, 18, 33, 12, 50, 7, 21, 44, 2, 30};

struct Mode {
  std::string name;
  DiffusionConfig config;
  int64_t expected_nfe;
};

DiffusionConfig dream(Selection selection, int64_t steps) {
  DiffusionConfig config;
  config.selection = selection;
  config.schedule = Schedule::kDreamTimeGrid;
  config.steps = steps;
  return config;
}

DiffusionConfig llada(Selection selection, Schedule schedule, int64_t steps, std::optional<int64_t> block) {
  DiffusionConfig config;
  config.selection = selection;
  config.schedule = schedule;
  config.steps = steps;
  config.block_length = block;
  return config;
}

std::vector<Mode> all_modes() {
  std::vector<Mode> modes;
  for (Selection s : {Selection::kOrigin, Selection::kMaskgitPlus, Selection::kTopkMargin, Selection::kEntropy})
    modes.push_back({"dream_" + to_string(s), dream(s, 8), 8});
  for (Selection s : {Selection::kLowConfidence, Selection::kRandom})
    for (Schedule schedule : {Schedule::kLladaEvenSplit, Schedule::kCosine, Schedule::kDreamTimeGrid})
      modes.push_back({"llada_" + to_string(s) + "_" + to_string(schedule), llada(s, schedule, 8, 4), 8});
  {
    DiffusionConfig c = dream(Selection::kEntropy, 48);  // more steps than tokens
    modes.push_back({"more_steps_than_tokens", c, 48});
  }
  {
    DiffusionConfig c = dream(Selection::kMaskgitPlus, 8);
    c.alg_temp = 0.5;
    c.sampling.temperature = 1.0;
    c.sampling.top_p = 0.9;
    c.sampling.top_k = 5;
    modes.push_back({"sampled_alg_temp", c, 8});
  }
  {
    DiffusionConfig c = dream(Selection::kOrigin, 8);
    c.sampling.temperature = 0.7;
    modes.push_back({"origin_sampled", c, 8});
  }
  {
    DiffusionConfig c = llada(Selection::kLowConfidence, Schedule::kLladaEvenSplit, 16, 8);
    c.sampling.temperature = 1.0;
    modes.push_back({"llada_gumbel", c, 16});
  }
  {
    DiffusionConfig c = llada(Selection::kLowConfidence, Schedule::kLladaEvenSplit, 8, 8);
    c.cfg_scale = 1.5;
    modes.push_back({"guidance", c, 16});  // two forward evaluations per step
  }
  for (CacheMode cache : {CacheMode::kPrefix, CacheMode::kDual}) {
    DiffusionConfig c = llada(Selection::kLowConfidence, Schedule::kLladaEvenSplit, 16, 4);
    c.cache = cache;
    modes.push_back({"cache_" + to_string(cache), c, 16});
    DiffusionConfig g = c;
    g.cfg_scale = 0.5;
    modes.push_back({"cache_" + to_string(cache) + "_guidance", g, 32});
    DiffusionConfig t = c;
    t.threshold = 0.9;  // the oracle is confident everywhere: one step per block
    modes.push_back({"cache_" + to_string(cache) + "_threshold", t, 4});
  }
  {
    DiffusionConfig c = dream(Selection::kMaskgitPlus, 16);
    c.block_length = 8;
    c.threshold = 0.9;
    modes.push_back({"threshold", c, 2});
  }
  {
    DiffusionConfig c = dream(Selection::kEntropy, 8);
    c.fixed = {{0, kAnswer[0]}, {5, kAnswer[5]}, {6, kAnswer[6]}, {15, kAnswer[15]}};
    modes.push_back({"fixed_spans", c, 8});
  }
  return modes;
}

DecodeRequest request_for(int64_t rows) {
  DecodeRequest request;
  request.prompts.assign(static_cast<size_t>(rows), kPrompt);
  request.max_new_tokens = kGenLen;
  for (int64_t r = 0; r < rows; ++r) request.seeds.push_back(static_cast<uint64_t>(100 + r));
  return request;
}

class OracleModes : public ::testing::TestWithParam<bool> {};

TEST_P(OracleModes, EveryModeReconstructsTheAnswer) {
  const bool shift = GetParam();
  auto oracle = std::make_shared<OracleDenoiser>(kAnswer, static_cast<int64_t>(kPrompt.size()), shift);
  for (const Mode& mode : all_modes()) {
    SCOPED_TRACE(mode.name);
    DiffusionDecoder decoder(oracle, mode.config);
    const DecodeResult result = decoder.decode(request_for(2));
    ASSERT_EQ(result.tokens.size(), 2u);
    EXPECT_EQ(result.tokens[0], kAnswer);
    EXPECT_EQ(result.tokens[1], kAnswer);
    EXPECT_EQ(result.stats.forward_calls, mode.expected_nfe);
    EXPECT_EQ(result.stats.generated_tokens, 2 * kGenLen);
    for (const auto& row : result.commit_step)
      for (size_t j = 0; j < row.size(); ++j) {
        bool fixed = false;
        for (const FixedToken& f : mode.config.fixed) fixed = fixed || f.position == static_cast<int64_t>(j);
        EXPECT_EQ(row[j] < 0, fixed) << "position " << j;
      }
  }
}

TEST_P(OracleModes, RemaskingDecoderReconstructsTheAnswer) {
  const bool shift = GetParam();
  auto oracle = std::make_shared<OracleDenoiser>(kAnswer, static_cast<int64_t>(kPrompt.size()), shift);
  for (RemaskSchedule schedule : {RemaskSchedule::kLinear, RemaskSchedule::kCosine})
    for (std::optional<double> noise : {std::optional<double>{}, std::optional<double>{0.5}}) {
      SCOPED_TRACE(to_string(schedule) + (noise ? " stochastic" : " deterministic"));
      RemaskingConfig config;
      config.steps = 20;
      config.schedule = schedule;
      config.noise_scale = noise;
      RemaskingDecoder decoder(oracle, config);
      const DecodeResult result = decoder.decode(request_for(2));
      EXPECT_EQ(result.tokens[0], kAnswer);
      EXPECT_EQ(result.tokens[1], kAnswer);
      EXPECT_EQ(result.stats.forward_calls, 20);
    }
}

INSTANTIATE_TEST_SUITE_P(Shift, OracleModes, ::testing::Bool(), [](const ::testing::TestParamInfo<bool>& info) {
  return info.param ? std::string("DreamShift") : std::string("NoShift");
});

TEST(OracleThreshold, ConfidentModelCommitsAWholeBlockPerStep) {
  auto oracle = std::make_shared<OracleDenoiser>(kAnswer, static_cast<int64_t>(kPrompt.size()), true);
  DiffusionConfig config = llada(Selection::kLowConfidence, Schedule::kLladaEvenSplit, 16, 4);
  config.threshold = 0.9;
  const DecodeResult result = DiffusionDecoder(oracle, config).decode(request_for(1));
  EXPECT_EQ(result.tokens[0], kAnswer);
  EXPECT_EQ(result.stats.details["reveals_per_step"][0].get<std::vector<int64_t>>(),
            (std::vector<int64_t>{4, 4, 4, 4}));
}

}  // namespace
}  // namespace stepwise
