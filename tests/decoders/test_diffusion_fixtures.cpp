// The diffusion decoder against the independent reference runs in the fixtures' expected.json:
// Dream's diffusion_generate on dream-tiny (time grid, logit shift, maskgit_plus / topk_margin /
// entropy, one case with the whole canvas after every step) and LLaDA's generate on llama-bidir-tiny
// (even split per block, low_confidence). Tokens, reveals per step and history must match exactly:
// each case first checks that no choice it makes is within float32 rounding of flipping (every
// committed token's top-two gap, and the fixture's smallest gap between the last selected and the
// first unselected confidence, against the bound of tests/support/numeric_bounds.h).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "decoders/diffusion/diffusion_decoder.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::fixture_model;
using testing::json_ids;

DiffusionConfig config_of(const nlohmann::json& c) {
  DiffusionConfig config;
  config.steps = c["steps"].get<int64_t>();
  config.sampling.temperature = c["temperature"].get<double>();
  if (c["sampler"] == "dream") {
    config.schedule = Schedule::kDreamTimeGrid;
    config.selection = parse_selection(c["alg"].get<std::string>());
    config.eps = c["eps"].get<double>();
  } else {
    config.schedule = Schedule::kLladaEvenSplit;
    config.selection = parse_selection(c["remasking"].get<std::string>());
    config.block_length = c["block_length"].get<int64_t>();
  }
  return config;
}

// How far a confidence can move when every logit moves by at most delta, per unit of delta: the
// probability-based ones (maskgit_plus, low_confidence, topk_margin) change by at most 2 delta, since
// dp_i = p_i (dz_i - sum_j p_j dz_j); Dream's entropy sum p log p by at most 2 delta H <= 2 delta log V.
double confidence_sensitivity(const std::string& alg, int64_t vocab) {
  return alg == "entropy" ? 2.0 * std::log(static_cast<double>(vocab)) : 2.0;
}

void expect_case_matches(const std::string& model_name, size_t index) {
  const nlohmann::json expected = fixture_expected(model_name);
  const nlohmann::json& c = expected["diffusion_cases"].at(index);
  auto model = load_checkpoint(fixture_model(model_name));
  ASSERT_EQ(model->config().shift_logits, c["logit_shift"].get<bool>());

  const std::vector<int64_t> prompt = json_ids(expected["prompt"]);
  DiffusionDecoder decoder(model, config_of(c));
  DecodeRequest request;
  request.prompts = {prompt};
  request.max_new_tokens = c["gen_len"].get<int64_t>();
  request.record_trace = true;
  const DecodeResult result = decoder.decode(request);
  ASSERT_FALSE(result.history.empty());

  // The choices cannot flip under float32 rounding. Tokens: each committed token's top-two gap
  // exceeds twice the bound (smallest 0.0032 over the nine cases; twice the bound is about 3.4e-4).
  const testing::CommittedMargin committed =
      testing::min_committed_margin(*model, prompt, result.history, 0, *model->config().mask_token_id);
  const double bound = committed.bound;
  const std::string label = model_name + " case " + std::to_string(index);
  testing::expect_margin_above(committed.margin, testing::stable_top_two_gap(bound), label + " tokens");
  // Order of the confidences: the fixture's smallest gap between selected and unselected (0.0010 to
  // 0.033) exceeds what the bound can move two confidences by (6.8e-4 for the 0.0010 case, 4.0e-3 for
  // entropy); null when one step reveals everything.
  if (!c["min_confidence_gap"].is_null()) {
    const std::string alg = c.contains("alg") ? c["alg"].get<std::string>() : c["remasking"].get<std::string>();
    testing::expect_margin_above(c["min_confidence_gap"].get<double>(),
                                 2.0 * confidence_sensitivity(alg, model->config().vocab_size) * bound,
                                 label + " confidence order");
  }

  ASSERT_EQ(result.tokens.size(), 1u);
  EXPECT_EQ(result.tokens[0], json_ids(c["expected"])) << decoder.describe();
  const auto reveals = result.stats.details["reveals_per_step"][0].get<std::vector<int64_t>>();
  EXPECT_EQ(reveals, json_ids(c["reveals_per_step"]));
  EXPECT_EQ(result.stats.forward_calls, c["steps"].get<int64_t>());
  if (c.contains("history")) {
    const auto& history = c["history"];
    ASSERT_EQ(result.history.size(), history.size());
    for (size_t step = 0; step < history.size(); ++step) {
      std::vector<int64_t> canvas = prompt;
      canvas.insert(canvas.end(), result.history[step][0].begin(), result.history[step][0].end());
      EXPECT_EQ(canvas, json_ids(history[step])) << "after step " << step;
    }
  }
}

class DreamCase : public ::testing::TestWithParam<size_t> {};
TEST_P(DreamCase, MatchesReference) { expect_case_matches("dream-tiny", GetParam()); }
INSTANTIATE_TEST_SUITE_P(DreamTiny, DreamCase, ::testing::Range<size_t>(0, 5));

class LladaCase : public ::testing::TestWithParam<size_t> {};
TEST_P(LladaCase, MatchesReference) { expect_case_matches("llama-bidir-tiny", GetParam()); }
INSTANTIATE_TEST_SUITE_P(LlamaBidirTiny, LladaCase, ::testing::Range<size_t>(0, 4));

TEST(DiffusionFixtures, EveryCaseIsCovered) {
  EXPECT_EQ(fixture_expected("dream-tiny")["diffusion_cases"].size(), 5u);
  EXPECT_EQ(fixture_expected("llama-bidir-tiny")["diffusion_cases"].size(), 4u);
}

}  // namespace
}  // namespace stepwise
