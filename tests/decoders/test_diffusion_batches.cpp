// Batches, seeds and the arithmetic of guidance and remasking on the fixture models: sampled decoding
// is reproducible from the seeds and each row is independent of the rest of the batch; left-padded
// rows equal their single-row runs; guidance equals un + (s + 1)(cond - un) computed by hand from two
// forward passes; the decoder's decision margins equal an independent recomputation; the remasking decoder's single step is the argmax and its masks follow int(N t/T);
// the study's stochastic setting keeps that count, is reproducible per seed and differs across seeds;
// without the logit shift held tokens are only kept or re-masked.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/diffusion/remasking_decoder.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::fixture_model;
using testing::json_ids;

DecodeRequest request_of(std::vector<std::vector<int64_t>> prompts, std::vector<uint64_t> seeds, int64_t gen_len) {
  DecodeRequest request;
  request.prompts = std::move(prompts);
  request.seeds = std::move(seeds);
  request.max_new_tokens = gen_len;
  return request;
}

std::vector<DiffusionConfig> sampled_configs() {
  std::vector<DiffusionConfig> configs(4);
  configs[0].selection = Selection::kEntropy;
  configs[0].steps = 8;
  configs[0].sampling.temperature = 1.0;
  configs[0].sampling.top_p = 0.95;
  configs[0].alg_temp = 0.1;
  configs[1].selection = Selection::kOrigin;
  configs[1].steps = 6;
  configs[1].sampling.temperature = 0.8;
  configs[1].sampling.top_k = 50;
  configs[2].selection = Selection::kLowConfidence;
  configs[2].schedule = Schedule::kLladaEvenSplit;
  configs[2].block_length = 8;
  configs[2].steps = 8;
  configs[2].sampling.temperature = 1.0;
  configs[3] = configs[2];
  configs[3].selection = Selection::kRandom;
  configs[3].cache = CacheMode::kPrefix;
  return configs;
}

TEST(SampledDecoding, ReproducibleBySeedAndIndependentOfTheBatch) {
  auto model = load_checkpoint(fixture_model("dream-tiny"));
  const std::vector<int64_t> a = json_ids(fixture_expected("dream-tiny")["prompt"]);
  std::vector<int64_t> b = a;
  std::reverse(b.begin(), b.end());  // same length: no padding involved
  for (const DiffusionConfig& config : sampled_configs()) {
    SCOPED_TRACE(DiffusionDecoder(model, config).describe());
    DiffusionDecoder decoder(model, config);
    // The repeated pair is the same kernels on the same shapes: bitwise equal, compared exactly. The
    // single row and the swapped pair are other shapes, equal only up to rounding, and these tokens are
    // drawn, not argmaxes, so no top-two margin decides them: a draw flips when its uniform lands within
    // the rounding of a boundary between cumulative probabilities (or a top-p/top-k cut-off). With logits
    // within the float32 bound delta, the probabilities and so each boundary move by at most about
    // 2 delta (~3e-4 here), which bounds the chance of a flip per draw; not excluded on every CPU.
    const DecodeResult pair = decoder.decode(request_of({a, b}, {11, 22}, 16));
    EXPECT_EQ(decoder.decode(request_of({a, b}, {11, 22}, 16)).tokens, pair.tokens);
    EXPECT_EQ(decoder.decode(request_of({a}, {11}, 16)).tokens[0], pair.tokens[0]);
    const DecodeResult swapped = decoder.decode(request_of({b, a}, {22, 11}, 16));
    EXPECT_EQ(swapped.tokens[0], pair.tokens[1]);
    EXPECT_EQ(swapped.tokens[1], pair.tokens[0]);
    const DecodeResult other_seed = decoder.decode(request_of({a}, {12}, 16));
    EXPECT_NE(other_seed.tokens[0], pair.tokens[0]);
  }
}

TEST(LeftPadding, BatchRowsEqualTheirSingleRowRuns) {
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    auto model = load_checkpoint(fixture_model(name));
    const std::vector<int64_t> full = json_ids(fixture_expected(name)["prompt"]);
    const std::vector<std::vector<int64_t>> prompts = {
        full, std::vector<int64_t>(full.begin() + 5, full.end()), {full[3], full[1], full[4]}};
    std::vector<DiffusionConfig> configs(4);
    configs[0].selection = Selection::kEntropy;
    configs[0].steps = 4;  // at 8 steps one commit of llama-bidir-tiny is a near-tie in entropy order
    configs[1].selection = Selection::kLowConfidence;
    configs[1].schedule = Schedule::kLladaEvenSplit;
    configs[1].block_length = 8;
    configs[1].steps = 8;
    configs[2] = configs[1];
    configs[2].cache = CacheMode::kDual;
    configs[2].cfg_scale = 0.5;
    configs[3] = configs[1];
    configs[3].cache = CacheMode::kPrefix;
    configs[3].threshold = 0.004;
    for (const DiffusionConfig& config : configs) {
      DiffusionDecoder decoder(model, config);
      SCOPED_TRACE(name + ": " + decoder.describe());
      DecodeRequest traced = request_of(prompts, {}, 16);
      traced.record_trace = true;
      const DecodeResult batch = decoder.decode(traced);
      // Batch and single rows are other shapes: equal only if no decision lies within rounding.
      testing::expect_firm_diffusion_decisions(batch.stats.details, model->config(), config.cfg_scale, static_cast<int64_t>(full.size()) + 16,
                                               name + " " + decoder.describe());
      for (size_t r = 0; r < prompts.size(); ++r) {
        const DecodeResult single = decoder.decode(request_of({prompts[r]}, {}, 16));
        EXPECT_EQ(batch.tokens[r], single.tokens[0]) << "row " << r;
        if (!config.threshold) EXPECT_EQ(batch.commit_step[r], single.commit_step[0]) << "row " << r;
      }
    }
  }
}

// Raw logits (1, W, V) of one canvas under bidirectional attention.
torch::Tensor raw_logits(const Transformer& model, const std::vector<int64_t>& canvas) {
  const int64_t width = static_cast<int64_t>(canvas.size());
  ForwardOptions options;
  options.attention = AttentionSpec::bidirectional();
  return model.forward(torch::tensor(canvas, torch::kInt64).view({1, width}), torch::arange(width).view({1, width}),
                       options);
}

// The decoder's decision margins are what an independent recomputation gives: from one uncached forward
// per step of the traced canvas, in float64, the committed tokens' lead over the best other logit and,
// for every committed position a and position b left masked, the probability gap p_a - p_b over its
// first-order sensitivity to a uniform logit change, 2 p_a (1 - p_a) + 2 p_b (1 - p_b) (low_confidence
// over the whole canvas, no blocks, so every masked position is a candidate).
TEST(DecisionMargins, EqualAnIndependentRecomputation) {
  torch::NoGradGuard no_grad;
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    auto model = load_checkpoint(fixture_model(name));
    const std::vector<int64_t> prompt = json_ids(fixture_expected(name)["prompt"]);
    const int64_t mask = *model->config().mask_token_id, n = 12, p = static_cast<int64_t>(prompt.size());
    const int64_t shift = model->config().shift_logits ? 1 : 0;
    DiffusionConfig config;
    config.selection = Selection::kLowConfidence;
    config.schedule = Schedule::kLladaEvenSplit;
    config.steps = 6;
    DecodeRequest request = request_of({prompt}, {}, n);
    request.record_trace = true;
    const DecodeResult result = DiffusionDecoder(model, config).decode(request);
    const nlohmann::json& recorded = result.stats.details["decision_margins"][0];

    double token = INFINITY, order = INFINITY, scale = 0.0;
    std::vector<int64_t> before(static_cast<size_t>(n), mask);
    for (const auto& step : result.history) {
      std::vector<int64_t> canvas = prompt;
      canvas.insert(canvas.end(), before.begin(), before.end());
      const torch::Tensor logits = raw_logits(*model, canvas)[0].to(torch::kFloat64);  // (W, V)
      const torch::Tensor probs = torch::softmax(logits, -1);
      std::vector<double> committed, left;  // best probabilities of the candidates
      for (int64_t j = 0; j < n; ++j) {
        if (before[static_cast<size_t>(j)] != mask) continue;  // not a candidate
        const torch::Tensor row = logits[p + j - shift];
        scale = std::max(scale, row.abs().max().item<double>());
        const double best_prob = probs[p + j - shift].max().item<double>();
        if (step[0][static_cast<size_t>(j)] == mask) {
          left.push_back(best_prob);
          continue;
        }
        const torch::Tensor top_two = std::get<0>(row.topk(2));
        token = std::min(token, (top_two[0] - top_two[1]).item<double>());
        committed.push_back(best_prob);
      }
      for (double a : committed)
        for (double b : left) order = std::min(order, (a - b) / (2 * a * (1 - a) + 2 * b * (1 - b)));
      before = step[0];
    }
    ASSERT_TRUE(std::isfinite(order)) << name << ": some step must leave a position masked";
    // The decoder's logits and this forward are two float32 evaluations (the decoder gathers candidate
    // rows): within the float32 bound delta. The token margin then moves by at most 2 delta; the order
    // margin gap / S by its gap's change over S (at most about 2 delta, the gap moving by S delta from
    // each side) plus its relative change in S (about 2 delta per unit of margin, to first order).
    const double delta = testing::float32_bound(scale, testing::forward_reduction_length(model->config(), p + n));
    testing::expect_within_bound(std::abs(recorded["token"].get<double>() - token), 2.0 * delta, name + " token margin");
    testing::expect_within_bound(std::abs(recorded["order"].get<double>() - order), 2.0 * delta * (1.0 + 2.0 * order),
                                 name + " order margin");
    testing::expect_within_bound(std::abs(recorded["logit_scale"].get<double>() - scale), 2.0 * delta,
                                 name + " logit scale");
  }
}

TEST(Guidance, EqualsTheGuidedLogitsOfTwoForwards) {
  torch::NoGradGuard no_grad;
  auto model = load_checkpoint(fixture_model("llama-bidir-tiny"));
  const std::vector<int64_t> prompt = json_ids(fixture_expected("llama-bidir-tiny")["prompt"]);
  const int64_t mask = *model->config().mask_token_id, n = 8, p = static_cast<int64_t>(prompt.size());
  std::vector<int64_t> conditional = prompt;
  conditional.resize(static_cast<size_t>(p + n), mask);
  const std::vector<int64_t> unconditional(static_cast<size_t>(p + n), mask);
  const double scale = 2.0;
  torch::Tensor cond = raw_logits(*model, conditional)[0].narrow(0, p, n);
  torch::Tensor un = raw_logits(*model, unconditional)[0].narrow(0, p, n);
  torch::Tensor guided = un + (scale + 1.0) * (cond - un);  // (n, V)
  torch::Tensor expected = guided.argmax(-1);
  ASSERT_FALSE(torch::equal(expected, cond.argmax(-1)));  // guidance must matter for this test to mean much

  DiffusionConfig config;
  config.selection = Selection::kLowConfidence;
  config.schedule = Schedule::kLladaEvenSplit;
  config.steps = 1;
  config.cfg_scale = scale;
  DecodeRequest request = request_of({prompt}, {}, n);
  request.record_trace = true;
  const DecodeResult result = DiffusionDecoder(model, config).decode(request);
  // The decoder runs both canvases as one batch of two and computes logits at the generated positions
  // only; the two forwards above are other shapes, equal up to rounding. Every position is committed in
  // the one step, so the tokens are comparable because each guided argmax wins by more than twice the
  // float32 bound of the guided logits: smallest margin 0.33 (twice the bound 1.5e-3).
  const testing::CommittedMargin committed =
      testing::min_committed_margin(*model, prompt, result.history, 0, mask, scale);
  testing::expect_margin_above(committed.margin, testing::stable_top_two_gap(committed.bound), "guided argmax");
  EXPECT_EQ(result.tokens[0], std::vector<int64_t>(expected.data_ptr<int64_t>(), expected.data_ptr<int64_t>() + n));
  EXPECT_EQ(result.stats.forward_calls, 2);
}

TEST(Remasking, OneStepIsTheShiftedArgmax) {
  torch::NoGradGuard no_grad;
  auto model = load_checkpoint(fixture_model("dream-tiny"));
  const std::vector<int64_t> prompt = json_ids(fixture_expected("dream-tiny")["prompt"]);
  const int64_t mask = *model->config().mask_token_id, n = 10, p = static_cast<int64_t>(prompt.size());
  std::vector<int64_t> canvas = prompt;
  canvas.resize(static_cast<size_t>(p + n), mask);
  // Dream's shift: generated position j reads the output at canvas position p + j - 1.
  torch::Tensor expected = raw_logits(*model, canvas)[0].narrow(0, p - 1, n).argmax(-1);
  RemaskingConfig config;
  config.steps = 1;
  const DecodeResult result = RemaskingDecoder(model, config).decode(request_of({prompt}, {}, n));
  EXPECT_EQ(result.tokens[0], std::vector<int64_t>(expected.data_ptr<int64_t>(), expected.data_ptr<int64_t>() + n));
  EXPECT_EQ(result.stats.forward_calls, 1);
}

TEST(Remasking, RemasksIntNTimesRateAfterEveryStep) {
  auto model = load_checkpoint(fixture_model("dream-tiny"));
  const std::vector<int64_t> prompt = json_ids(fixture_expected("dream-tiny")["prompt"]);
  const int64_t mask = *model->config().mask_token_id;
  struct Case {
    RemaskSchedule schedule;
    std::vector<int64_t> masked_after_step;  // N = 16, T = 5
  };
  // linear: int(16 * t/5) for t = 4..1; cosine: int(16 * cos((5 - t)/5 * pi/2)) = 15, 12, 9, 4.
  for (const Case& c :
       {Case{RemaskSchedule::kLinear, {12, 9, 6, 3, 0}}, Case{RemaskSchedule::kCosine, {15, 12, 9, 4, 0}}}) {
    RemaskingConfig config;
    config.steps = 5;
    config.schedule = c.schedule;
    DecodeRequest request = request_of({prompt}, {}, 16);
    request.record_trace = true;
    const DecodeResult result = RemaskingDecoder(model, config).decode(request);
    ASSERT_EQ(result.history.size(), 5u);
    std::vector<int64_t> masked;
    for (const auto& step : result.history) masked.push_back(std::count(step[0].begin(), step[0].end(), mask));
    EXPECT_EQ(masked, c.masked_after_step) << to_string(c.schedule);
    EXPECT_EQ(result.tokens[0], result.history.back()[0]);
  }
}

// Without the logit shift a column holding a token has no trained output, so a step re-predicts only
// the masked columns: between consecutive steps a token either stays or is re-masked, never replaced.
// With the shift (the study's models) every column is re-predicted, as upstream does.
TEST(Remasking, WithoutTheShiftHeldTokensAreKeptOrRemaskedNeverReplaced) {
  for (const std::string name : {"llama-bidir-tiny", "dream-tiny"}) {
    SCOPED_TRACE(name);
    auto model = load_checkpoint(fixture_model(name));
    const std::vector<int64_t> prompt = json_ids(fixture_expected(name)["prompt"]);
    const int64_t mask = *model->config().mask_token_id;
    RemaskingConfig config;
    config.steps = 8;
    DecodeRequest request = request_of({prompt}, {}, 16);
    request.record_trace = true;
    const DecodeResult result = RemaskingDecoder(model, config).decode(request);
    ASSERT_EQ(result.history.size(), 8u);
    int64_t replaced = 0;
    for (size_t k = 1; k < result.history.size(); ++k)
      for (size_t j = 0; j < 16; ++j) {
        const int64_t was = result.history[k - 1][0][j], now = result.history[k][0][j];
        if (was != mask && now != mask && now != was) ++replaced;
      }
    if (model->config().shift_logits)
      EXPECT_GT(replaced, 0) << "the random fixture model's re-predictions should change some held token";
    else
      EXPECT_EQ(replaced, 0);
  }
}

TEST(Remasking, StudySettingIsStochasticLinearTwentySteps) {
  const RemaskingConfig study = study_remasking_config();
  EXPECT_EQ(study.steps, 20);
  EXPECT_EQ(study.schedule, RemaskSchedule::kLinear);
  ASSERT_TRUE(study.noise_scale.has_value());
  EXPECT_EQ(*study.noise_scale, 0.5);

  auto model = load_checkpoint(fixture_model("dream-tiny"));
  const std::vector<int64_t> prompt = json_ids(fixture_expected("dream-tiny")["prompt"]);
  const int64_t mask = *model->config().mask_token_id;
  auto run = [&](uint64_t seed) {
    DecodeRequest request = request_of({prompt}, {seed}, 16);
    request.record_trace = true;
    return RemaskingDecoder(model, study).decode(request);
  };
  const DecodeResult first = run(1), again = run(1);
  EXPECT_EQ(first.history, again.history);  // reproducible from the seed
  EXPECT_EQ(first.stats.forward_calls, 20);
  // The noise changes which positions are re-masked, not how many: at least int(16 * t / 20) masks after
  // step k (the random fixture model may also predict the mask id itself at some positions).
  ASSERT_EQ(first.history.size(), 20u);
  for (size_t k = 0; k < first.history.size(); ++k) {
    const int64_t t = 19 - static_cast<int64_t>(k);
    EXPECT_GE(std::count(first.history[k][0].begin(), first.history[k][0].end(), mask), (16 * t) / 20) << "step " << k;
  }
  // Over a few seeds the Gumbel noise picks another set of re-masked positions at least once.
  bool differs = false;
  for (uint64_t seed = 2; seed < 8 && !differs; ++seed) differs = run(seed).history != first.history;
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace stepwise
