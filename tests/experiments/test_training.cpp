// Training: loss masks and hand-computed losses of the AR and masked-diffusion objectives, masking
// rates, the learning-rate schedule, seeded batch order, loss decrease on a tiny overfit problem,
// checkpoint round trip, exact resume after a SIGINT, and AR -> diffusion initialisation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "models/checkpoint.h"
#include "experiments/training/ar_objective.h"
#include "experiments/training/batch_schedule.h"
#include "experiments/training/diffusion_init.h"
#include "experiments/training/diffusion_objective.h"
#include "experiments/training/lr_schedule.h"
#include "experiments/training/objective.h"
#include "experiments/training/model_presets.h"
#include "experiments/training/trainer.h"
#include "experiments/training/training_state.h"
#include "experiments/training/validation.h"
#include "models/transformer.h"
#include "tests/support/numeric_bounds.h"
#include "tests/support/tiny_model.h"

namespace stepwise::training {
namespace {

namespace fs = std::filesystem;
using testing::tiny_model_config;
constexpr int64_t kPad = 0, kSep = 1, kMask = 2, kEos = 3;

TransformerConfig tiny_config() {
  TransformerConfig config = tiny_model_config(31, 32, 2, 64);
  config.attention_bias = true;
  return config;
}

// Reversal task on digit ids 5..14: source d1 d2 d3 d4 [SEP], target d4 d3 d2 d1 [EOS].
std::vector<TrainingExample> reversal_examples(int64_t count, uint64_t seed) {
  at::Generator generator = make_generator(seed);
  torch::Tensor digits = at::randint(5, 15, {count, 4}, generator, torch::TensorOptions().dtype(torch::kInt64));
  std::vector<TrainingExample> examples;
  for (int64_t i = 0; i < count; ++i) {
    TrainingExample example;
    for (int64_t j = 0; j < 4; ++j) example.source_ids.push_back(digits[i][j].item<int64_t>());
    example.source_ids.push_back(kSep);
    for (int64_t j = 3; j >= 0; --j) example.target_ids.push_back(digits[i][j].item<int64_t>());
    example.target_ids.push_back(kEos);
    examples.push_back(example);
  }
  return examples;
}

// (rows, cols) int64 tensor from a row-major list.
torch::Tensor id_tensor(const std::vector<int64_t>& values, int64_t rows, int64_t cols) {
  return torch::tensor(values, torch::kInt64).view({rows, cols});
}

double cross_entropy_by_hand(const torch::Tensor& logit_row, int64_t label) {
  const auto values = logit_row.to(torch::kFloat64).contiguous();
  const double* v = values.data_ptr<double>();
  double max_value = v[0];
  for (int64_t k = 1; k < values.numel(); ++k) max_value = std::max(max_value, v[k]);
  double sum = 0.0;
  for (int64_t k = 0; k < values.numel(); ++k) sum += std::exp(v[k] - max_value);
  return -(v[label] - max_value - std::log(sum));
}

// A float32 loss against the same cross-entropies summed in double from the same logits: rounding in
// the log-sum-exp over the vocabulary, then in the weighted sum over the scored tokens, at the scale
// of the larger of the loss and the logits (tests/support/numeric_bounds.h).
double loss_bound(double expected, const torch::Tensor& logits, int64_t scored_tokens) {
  const double scale = std::max(std::abs(expected), logits.abs().max().item<double>());
  return testing::float32_bound(scale, logits.size(-1) + scored_tokens);
}

torch::Tensor logits_of(const Transformer& model, const LossInputs& inputs) {
  torch::NoGradGuard no_grad;
  ForwardOptions options;
  options.attention = inputs.attention;
  return model.forward(inputs.tokens, inputs.positions, options);
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / ("stepwise_training_" + name)) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

TrainerOptions quick_options(ObjectiveKind kind, int64_t steps) {
  TrainerOptions options;
  options.objective.kind = kind;
  options.objective.diffusion.mask_token_id = kMask;
  options.steps = steps;
  options.batch_size = 8;
  options.seed = 7;
  options.lr = 3e-3;
  options.warmup_steps = 2;
  options.show_progress = false;
  return options;
}

std::shared_ptr<Transformer> fresh_model(ObjectiveKind kind, uint64_t seed = 1) {
  auto model = random_transformer(tiny_config(), seed);
  if (kind == ObjectiveKind::kDiffusion) return diffusion_model_from(*model, {kMask, true});
  return model;
}

// ---- batches and masks ----

TEST(TrainingBatch, RightPadsAndMarksTargets) {
  std::vector<TrainingExample> examples = {{{5, 6, kSep}, {7, kEos}}, {{5, kSep}, {8, 9, 10, kEos}}};
  TrainingBatch batch = make_training_batch(examples, {0, 1}, kPad);
  ASSERT_EQ(batch.tokens.sizes(), torch::IntArrayRef({2, 6}));
  EXPECT_TRUE(torch::equal(batch.tokens, id_tensor({5, 6, kSep, 7, kEos, kPad, 5, kSep, 8, 9, 10, kEos}, 2, 6)));
  EXPECT_TRUE(torch::equal(batch.real.to(torch::kInt64),
                           torch::tensor({1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1}, torch::kInt64).view({2, 6})));
  EXPECT_TRUE(torch::equal(batch.target_mask.to(torch::kInt64),
                           torch::tensor({0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64).view({2, 6})));
  EXPECT_THROW(make_training_batch(examples, {2}, kPad), Error);
}

TEST(TrainingBatch, PadTargetsFixesTheLength) {
  auto padded = pad_targets({{{5, kSep}, {7, kEos}}}, 4, kPad);
  EXPECT_EQ(padded[0].target_ids, (std::vector<int64_t>{7, kEos, kPad, kPad}));
  EXPECT_THROW(pad_targets({{{5, kSep}, {7, 8, 9, kEos}}}, 3, kPad), Error);
}

TEST(ArObjective, ScoresOnlyTargetTokens) {
  std::vector<TrainingExample> examples = {{{5, 6, kSep}, {7, kEos}}, {{5, kSep}, {8, 9, 10, kEos}}};
  TrainingBatch batch = make_training_batch(examples, {0, 1}, kPad);
  LossInputs inputs = ar_loss_inputs(batch);
  // Output j predicts token j+1: scored where j+1 is a target token (2 + 4 = 6 of them).
  torch::Tensor expected_scored =
      torch::tensor({0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0}, torch::kInt64).view({2, 6}).to(torch::kBool);
  EXPECT_TRUE(torch::equal(inputs.weights != 0, expected_scored));
  // Six float32 weights of 1/6, summed.
  EXPECT_NEAR(inputs.weights.sum().item<double>(), 1.0, testing::float32_bound(1.0, 6));
  EXPECT_EQ(inputs.labels[0][2].item<int64_t>(), 7);
  EXPECT_EQ(inputs.labels[0][3].item<int64_t>(), kEos);
  EXPECT_EQ(inputs.labels[1][1].item<int64_t>(), 8);
  EXPECT_EQ(inputs.attention.kind, AttentionKind::kCausal);
}

TEST(ArObjective, LossIgnoresSourceAndPadOutputs) {
  std::vector<TrainingExample> examples = {{{5, 6, kSep}, {7, kEos}}, {{5, kSep}, {8, 9, 10, kEos}}};
  LossInputs inputs = ar_loss_inputs(make_training_batch(examples, {0, 1}, kPad));
  torch::Tensor logits = torch::randn({2, 6, 31}, make_generator(3));
  const double loss = weighted_cross_entropy(logits, inputs.labels, inputs.weights).item<double>();
  // Garbage (even -inf) at unscored outputs must not change the loss.
  torch::Tensor scrambled = logits.masked_fill((inputs.weights == 0).unsqueeze(-1), -INFINITY);
  scrambled[0][0][0].fill_(1e4);
  EXPECT_DOUBLE_EQ(weighted_cross_entropy(scrambled, inputs.labels, inputs.weights).item<double>(), loss);
}

TEST(ArObjective, LossEqualsHandComputation) {
  auto model = random_transformer(tiny_config(), 11);
  std::vector<TrainingExample> examples = {{{5, kSep}, {6, kEos}}};
  TrainingBatch batch = make_training_batch(examples, {0}, kPad);  // tokens 5 [SEP] 6 [EOS]
  LossInputs inputs = ar_loss_inputs(batch);
  torch::Tensor logits = logits_of(*model, inputs)[0];  // (4, V)
  const double expected = (cross_entropy_by_hand(logits[1], 6) + cross_entropy_by_hand(logits[2], kEos)) / 2.0;
  torch::NoGradGuard no_grad;
  EXPECT_NEAR(loss_of(*model, inputs).item<double>(), expected, loss_bound(expected, logits, 2));
}

TEST(WeightedCrossEntropy, MatchesHandComputationOnFixedLogits) {
  // Row j has logits (j, 0, 0); label 0 costs log(1 + 2 e^-j), label 1 costs log(e^j + 2).
  torch::Tensor logits = torch::zeros({1, 3, 3});
  for (int64_t j = 0; j < 3; ++j) logits[0][j][0] = static_cast<double>(j);
  torch::Tensor labels = torch::tensor({0, 1, 0}, torch::kInt64).view({1, 3});
  torch::Tensor weights = torch::tensor({0.5, 0.0, 2.0}, torch::kFloat32).view({1, 3});
  const double expected = 0.5 * std::log(3.0) + 2.0 * std::log(1.0 + 2.0 * std::exp(-2.0));
  EXPECT_NEAR(weighted_cross_entropy(logits, labels, weights).item<double>(), expected, loss_bound(expected, logits, 3));
}

TEST(DiffusionObjective, MasksAndScoresOnlyTargetTokens) {
  auto examples = reversal_examples(64, 5);
  TrainingBatch batch = make_training_batch(examples, std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, kPad);
  DiffusionOptions options = paper_diffusion_options();
  options.mask_token_id = kMask;
  at::Generator generator = make_generator(9);
  DiffusionNoise noise = sample_diffusion_noise(batch, options, generator);
  EXPECT_FALSE((noise.masked & batch.target_mask.logical_not()).any().item<bool>());  // never the source
  LossInputs inputs = diffusion_loss_inputs(batch, noise, options);
  EXPECT_TRUE(torch::equal(inputs.tokens.masked_select(noise.masked),
                           torch::full({noise.masked.sum().item<int64_t>()}, kMask, torch::kInt64)));
  EXPECT_TRUE(torch::equal(inputs.tokens.masked_select(noise.masked.logical_not()),
                           batch.tokens.masked_select(noise.masked.logical_not())));
  // Shifted (Dream): output j-1 scores token j exactly where token j is masked.
  torch::Tensor scored = inputs.weights != 0;
  EXPECT_TRUE(torch::equal(scored.narrow(1, 0, batch.width() - 1), noise.masked.narrow(1, 1, batch.width() - 1)));
  EXPECT_TRUE(torch::equal(inputs.labels.narrow(1, 0, batch.width() - 1), batch.tokens.narrow(1, 1, batch.width() - 1)));
  EXPECT_EQ(inputs.attention.kind, AttentionKind::kBidirectional);
  ASSERT_TRUE(inputs.attention.key_padding.has_value());
  EXPECT_TRUE(torch::equal(*inputs.attention.key_padding, batch.real));
  // Unshifted (LLaDA): output j scores token j.
  options.shift_logits = false;
  LossInputs in_place = diffusion_loss_inputs(batch, noise, options);
  EXPECT_TRUE(torch::equal(in_place.weights != 0, noise.masked));
}

TEST(DiffusionObjective, LossEqualsHandComputation) {
  auto ar = random_transformer(tiny_config(), 12);
  auto model = diffusion_model_from(*ar, {kMask, true});
  std::vector<TrainingExample> examples = {{{5, kSep}, {6, 7, kEos}}};
  TrainingBatch batch = make_training_batch(examples, {0}, kPad);  // 5 [SEP] 6 7 [EOS]
  DiffusionNoise noise;
  noise.time = torch::tensor({9.0f});  // rate (9+1)/20 = 0.5 with T = 20
  noise.rate = torch::tensor({0.5f});
  noise.masked = torch::tensor({0, 0, 1, 0, 1}, torch::kInt64).view({1, 5}).to(torch::kBool);  // 6 and [EOS]

  DiffusionOptions options = paper_diffusion_options();
  options.mask_token_id = kMask;
  LossInputs inputs = diffusion_loss_inputs(batch, noise, options);
  EXPECT_TRUE(torch::equal(inputs.tokens, id_tensor({5, kSep, kMask, 7, kMask}, 1, 5)));
  torch::Tensor logits = logits_of(*model, inputs)[0];  // (5, V), read shifted
  const double ce_6 = cross_entropy_by_hand(logits[1], 6), ce_eos = cross_entropy_by_hand(logits[3], kEos);
  torch::NoGradGuard no_grad;
  // Paper form: mean over the 2 masked tokens.
  EXPECT_NEAR(loss_of(*model, inputs).item<double>(), (ce_6 + ce_eos) / 2.0,
              loss_bound((ce_6 + ce_eos) / 2.0, logits, 2));
  // Inverse-rate weighting (1 / 0.5), normalised by the 3 target tokens (LLaDA form).
  options.weighting = LossWeighting::kInverseRate;
  options.normalization = LossNormalization::kTargetTokens;
  EXPECT_NEAR(loss_of(*model, diffusion_loss_inputs(batch, noise, options)).item<double>(),
              2.0 * (ce_6 + ce_eos) / 3.0, loss_bound(2.0 * (ce_6 + ce_eos) / 3.0, logits, 2));
  // Linear weighting: T - t = 11.
  options.weighting = LossWeighting::kLinear;
  options.normalization = LossNormalization::kMaskedTokens;
  EXPECT_NEAR(loss_of(*model, diffusion_loss_inputs(batch, noise, options)).item<double>(),
              11.0 * (ce_6 + ce_eos) / 2.0, loss_bound(11.0 * (ce_6 + ce_eos) / 2.0, logits, 2));
}

// alpha * (1 - e^-l)^gamma * l and its derivative in l, computed in double.
double mgdm_term(double l, double alpha, double gamma) { return alpha * std::pow(1.0 - std::exp(-l), gamma) * l; }
double mgdm_slope(double l, double alpha, double gamma) {
  const double q = 1.0 - std::exp(-l);
  return alpha * (std::pow(q, gamma) + gamma * std::pow(q, gamma - 1.0) * std::exp(-l) * l);
}

TEST(MgdmObjective, PresetIsTheStudySetting) {
  DiffusionOptions options = mgdm_diffusion_options(kMgdmGammaCountdown);
  EXPECT_EQ(options.schedule, NoiseSchedule::kDiscrete);
  EXPECT_EQ(options.timesteps, 20);
  EXPECT_EQ(options.weighting, LossWeighting::kLinear);
  EXPECT_EQ(options.normalization, LossNormalization::kMaskedTokens);
  ASSERT_TRUE(options.token_reweighting.has_value());
  EXPECT_EQ(options.token_reweighting->alpha, 0.25);
  EXPECT_EQ(options.token_reweighting->gamma, 2.0);
  EXPECT_EQ(mgdm_diffusion_options(kMgdmGammaDefault).token_reweighting->gamma, 1.0);
  options.token_reweighting->alpha = 0.0;
  EXPECT_THROW(validate_diffusion_options(options), Error);
  options.token_reweighting = TokenReweighting{0.25, -1.0};
  EXPECT_THROW(validate_diffusion_options(options), Error);
}

TEST(MgdmObjective, LossEqualsHandComputation) {
  // Two rows at different t: the time weight T - t is per row, the sum is divided by the number of
  // masked tokens in the whole batch (3), every masked token's CE l enters as alpha (1 - e^-l)^gamma l.
  auto ar = random_transformer(tiny_config(), 21);
  auto model = diffusion_model_from(*ar, {kMask, true});
  std::vector<TrainingExample> examples = {{{5, kSep}, {6, 7, kEos}}, {{8, kSep}, {9, 10, kEos}}};
  TrainingBatch batch = make_training_batch(examples, {0, 1}, kPad);  // x [SEP] a b [EOS] per row
  DiffusionNoise noise;
  noise.time = torch::tensor({9.0f, 3.0f});  // T - t = 11 and 17
  noise.rate = torch::tensor({0.5f, 0.2f});
  noise.masked = torch::tensor({0, 0, 1, 0, 1, 0, 0, 0, 1, 0}, torch::kInt64).view({2, 5}).to(torch::kBool);
  for (double gamma : {1.0, 2.0}) {
    DiffusionOptions options = mgdm_diffusion_options(gamma);
    options.mask_token_id = kMask;
    LossInputs inputs = diffusion_loss_inputs(batch, noise, options);
    torch::Tensor logits = logits_of(*model, inputs);  // (2, 5, V), read shifted: output j-1 scores token j
    const double l_6 = cross_entropy_by_hand(logits[0][1], 6), l_eos = cross_entropy_by_hand(logits[0][3], kEos);
    const double l_10 = cross_entropy_by_hand(logits[1][2], 10);
    const double expected =
        (11.0 * (mgdm_term(l_6, 0.25, gamma) + mgdm_term(l_eos, 0.25, gamma)) + 17.0 * mgdm_term(l_10, 0.25, gamma)) /
        3.0;
    torch::NoGradGuard no_grad;
    EXPECT_NEAR(loss_of(*model, inputs).item<double>(), expected, 1e-4 * expected) << "gamma " << gamma;
  }
}

TEST(MgdmObjective, GradientFlowsThroughTheTokenWeight) {
  // The study does not detach (1 - e^-l)^gamma: d loss / d logits = w * slope(l) * (softmax - onehot).
  torch::Tensor logits = torch::tensor({1.5, -0.5, 0.25, 0.0, 2.0, -1.0}, torch::kFloat32).view({1, 2, 3});
  logits.requires_grad_(true);
  torch::Tensor labels = torch::tensor({1, 2}, torch::kInt64).view({1, 2});
  torch::Tensor weights = torch::tensor({0.5, 3.0}, torch::kFloat32).view({1, 2});
  const TokenReweighting reweighting{0.25, 2.0};
  torch::Tensor loss = weighted_cross_entropy(logits, labels, weights, reweighting);
  loss.backward();
  double expected_loss = 0.0;
  for (int64_t j = 0; j < 2; ++j) {
    torch::Tensor row = logits.detach()[0][j].to(torch::kFloat64);
    const int64_t label = labels[0][j].item<int64_t>();
    const double l = cross_entropy_by_hand(row, label), w = weights[0][j].item<double>();
    expected_loss += w * mgdm_term(l, 0.25, 2.0);
    torch::Tensor probabilities = torch::softmax(row, 0);
    for (int64_t k = 0; k < 3; ++k) {
      const double dl = probabilities[k].item<double>() - (k == label ? 1.0 : 0.0);
      EXPECT_NEAR(logits.grad()[0][j][k].item<double>(), w * mgdm_slope(l, 0.25, 2.0) * dl, 1e-5)
          << "position " << j << ", logit " << k;
    }
  }
  EXPECT_NEAR(loss.item<double>(), expected_loss, 1e-5);
}

TEST(DiffusionObjective, MaskingRateMatchesSchedule) {
  // 4000 rows of 20 target tokens; per t the masked fraction must be (t+1)/T within 5 sigma.
  std::vector<TrainingExample> examples(4000, TrainingExample{{5, kSep}, std::vector<int64_t>(20, 6)});
  std::vector<int64_t> all(4000);
  for (int64_t i = 0; i < 4000; ++i) all[static_cast<size_t>(i)] = i;
  TrainingBatch batch = make_training_batch(examples, all, kPad);
  DiffusionOptions options = paper_diffusion_options();
  options.timesteps = 5;
  at::Generator generator = make_generator(21);
  DiffusionNoise noise = sample_diffusion_noise(batch, options, generator);
  torch::Tensor per_row = noise.masked.sum(1).to(torch::kFloat64);  // (B)
  for (int64_t t = 0; t < 5; ++t) {
    torch::Tensor rows = noise.time == static_cast<double>(t);
    const double row_count = rows.sum().item<double>();
    EXPECT_NEAR(row_count / 4000.0, 0.2, 5 * std::sqrt(0.2 * 0.8 / 4000.0)) << "t=" << t;
    const double n = row_count * 20.0, p = (t + 1) / 5.0;
    const double fraction = per_row.masked_select(rows).sum().item<double>() / n;
    EXPECT_NEAR(fraction, p, 5 * std::sqrt(std::max(p * (1 - p), 1e-9) / n) + 1e-12) << "t=" << t;
  }
  // Continuous: t in (eps, 1], the masked fraction tracks t (mean rate 0.5).
  options = llada_diffusion_options();
  noise = sample_diffusion_noise(batch, options, generator);
  EXPECT_GT(noise.time.min().item<double>(), options.eps);
  EXPECT_LE(noise.time.max().item<double>(), 1.0);
  EXPECT_TRUE(torch::equal(noise.rate, noise.time));
  const double fraction = noise.masked.to(torch::kFloat64).mean().item<double>() * batch.width() / 20.0;
  // 5 sigma: a row's masked fraction has variance Var(t) + E[t (1 - t)] / 20 = 1/12 + 1/120.
  EXPECT_NEAR(fraction, (1.0 + options.eps) / 2.0, 5 * std::sqrt((1.0 / 12 + 1.0 / 120) / 4000.0));
  const double correlation =
      torch::stack({noise.masked.sum(1).to(torch::kFloat64), noise.time.to(torch::kFloat64)}).corrcoef()[0][1]
          .item<double>();
  EXPECT_GT(correlation, 0.9);
}

// ---- schedule and batch order ----

TEST(LrSchedule, WarmupThenCosineToTheMinimum) {
  LrSchedule schedule{1e-3, 10, 110, 0.1};
  EXPECT_DOUBLE_EQ(learning_rate_at(schedule, 0), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(schedule, 4), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(schedule, 9), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate_at(schedule, 10), 1e-3);
  // Double arithmetic through libm's cos (within an ulp or so on any machine): 1e-15 is 1e-12 relative.
  EXPECT_NEAR(learning_rate_at(schedule, 60), 0.55e-3, 1e-15);  // half-way: (peak + min) / 2
  EXPECT_NEAR(learning_rate_at(schedule, 110), 1e-4, 1e-15);    // the end: min
  for (int64_t step = 10; step < 110; ++step)
    EXPECT_GT(learning_rate_at(schedule, step), learning_rate_at(schedule, step + 1));
  EXPECT_THROW(learning_rate_at({1e-3, 20, 10, 0.1}, 0), Error);
}

TEST(BatchSchedule, EpochsArePermutationsAndStepsAreStateless) {
  BatchSchedule schedule(10, 4, 3);
  std::vector<int64_t> stream;
  for (int64_t step = 0; step < 5; ++step)
    for (int64_t index : schedule.indices_for_step(step)) stream.push_back(index);
  ASSERT_EQ(stream.size(), 20u);
  std::set<int64_t> first(stream.begin(), stream.begin() + 10), second(stream.begin() + 10, stream.end());
  EXPECT_EQ(first.size(), 10u);
  EXPECT_EQ(second.size(), 10u);
  EXPECT_NE(std::vector<int64_t>(stream.begin(), stream.begin() + 10),
            std::vector<int64_t>(stream.begin() + 10, stream.end()));
  BatchSchedule fresh(10, 4, 3);
  EXPECT_EQ(fresh.indices_for_step(3), std::vector<int64_t>(stream.begin() + 12, stream.begin() + 16));
  BatchSchedule other_seed(10, 4, 4);
  EXPECT_NE(other_seed.epoch_order(0), fresh.epoch_order(0));
}

TEST(ModelPresets, TinyMatchesTheStudyShape) {
  TransformerConfig tiny = model_preset({"tiny", "qwen2", 31, 128});
  EXPECT_EQ(tiny.num_layers, 3);
  EXPECT_EQ(tiny.hidden_size, 384);
  EXPECT_EQ(tiny.num_heads, 12);
  EXPECT_EQ(tiny.vocab_size, 31);
  const int64_t parameters = random_transformer(tiny, 0)->parameter_count();
  EXPECT_GT(parameters, 5'000'000);
  EXPECT_LT(parameters, 7'000'000);
  EXPECT_LT(random_transformer(model_preset({"small", "llama", 31, 128}), 0)->parameter_count(), parameters / 4);
  EXPECT_THROW(model_preset({"huge", "qwen2", 31, 128}), Error);
}

// ---- training ----

TEST(Trainer, LossDecreasesOnTinyOverfitProblem) {
  for (ObjectiveKind kind : {ObjectiveKind::kAutoregressive, ObjectiveKind::kDiffusion}) {
    auto model = fresh_model(kind);
    auto examples = reversal_examples(16, 1);
    TrainerOptions options = quick_options(kind, 150);
    const TrainingOutcome outcome = train_model(*model, examples, options);
    ASSERT_EQ(outcome.losses.size(), 150u);
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) {
      first += outcome.losses[static_cast<size_t>(i)];
      last += outcome.losses[outcome.losses.size() - 1 - static_cast<size_t>(i)];
    }
    EXPECT_LT(last, 0.5 * first) << objective_kind_name(kind);
    EXPECT_FALSE(model->named_parameters()[0].second.requires_grad());  // ready for inference again
  }
}

TEST(Trainer, ValidationHookRunsEveryKSteps) {
  auto model = fresh_model(ObjectiveKind::kAutoregressive);
  auto examples = reversal_examples(16, 1);
  TrainerOptions options = quick_options(ObjectiveKind::kAutoregressive, 10);
  options.validate_every = 4;
  options.validate = make_teacher_forced_validation(examples, options.objective, 8, kPad);
  const TrainingOutcome outcome = train_model(*model, examples, options);
  ASSERT_EQ(outcome.validations.size(), 3u);  // steps 4, 8 and the end
  EXPECT_EQ(outcome.validations[0].step, 4);
  EXPECT_EQ(outcome.validations[2].step, 10);
  const double accuracy = outcome.validations[2].metrics.at("token_accuracy");
  EXPECT_GE(accuracy, 0.0);
  EXPECT_LE(accuracy, 1.0);
}

TEST(Trainer, CheckpointRoundTrip) {
  TempDir dir("roundtrip");
  auto model = fresh_model(ObjectiveKind::kDiffusion);
  TrainerOptions options = quick_options(ObjectiveKind::kDiffusion, 3);
  options.out_dir = dir.path.string();
  train_model(*model, reversal_examples(16, 1), options);
  auto loaded = load_checkpoint(dir.path.string());
  EXPECT_EQ(loaded->config().model_type, "Dream");
  EXPECT_TRUE(loaded->config().bidirectional);
  EXPECT_TRUE(loaded->config().shift_logits);
  EXPECT_EQ(loaded->config().mask_token_id, std::optional<int64_t>(kMask));
  auto expected = model->named_parameters(), actual = loaded->named_parameters();
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].first, actual[i].first);
    EXPECT_TRUE(torch::equal(expected[i].second, actual[i].second)) << expected[i].first;
  }
  TrainingState state = load_training_state((dir.path / kTrainingStateFile).string());
  EXPECT_EQ(state.step, 3);
  EXPECT_EQ(state.losses.size(), 3u);
  EXPECT_EQ(state.adam.size(), expected.size());
}

TEST(Trainer, StoppedAndResumedRunEqualsUninterruptedRun) {
  for (ObjectiveKind kind : {ObjectiveKind::kAutoregressive, ObjectiveKind::kDiffusion}) {
    const auto examples = reversal_examples(12, 2);  // 20 steps of 8 cross several epochs
    TempDir straight_dir("straight"), resumed_dir("resumed");

    auto straight = fresh_model(kind);
    TrainerOptions options = quick_options(kind, 20);
    options.out_dir = straight_dir.path.string();
    const TrainingOutcome full = train_model(*straight, examples, options);

    auto first_half = fresh_model(kind);
    options.out_dir = resumed_dir.path.string();
    options.on_step = [](const StepReport& report) {
      if (report.steps_done == 10) std::raise(SIGINT);  // as if Ctrl-C arrived during step 10
    };
    const TrainingOutcome stopped = train_model(*first_half, examples, options);
    EXPECT_TRUE(stopped.stopped_early);
    EXPECT_EQ(stopped.steps_done, 10);

    auto second_half = fresh_model(kind);  // a new process starts from the same initial model
    options.on_step = nullptr;
    const TrainingOutcome resumed = train_model(*second_half, examples, options);
    EXPECT_EQ(resumed.resumed_from, 10);
    EXPECT_EQ(resumed.steps_done, 20);
    EXPECT_EQ(resumed.losses, full.losses) << objective_kind_name(kind);

    // Same process, same shapes and kernels, and the resumed run restarts from float32 weights and
    // moments saved bit for bit: the same operations in the same order, so the weights are identical.
    auto expected = straight->named_parameters(), actual = second_half->named_parameters();
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::equal(expected[i].second, actual[i].second)) << expected[i].first;
    auto reloaded = load_checkpoint(resumed_dir.path.string())->named_parameters();
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::equal(expected[i].second, reloaded[i].second)) << expected[i].first;
  }
}

TEST(Trainer, RefusesToResumeWithOtherSettings) {
  TempDir dir("mismatch");
  auto examples = reversal_examples(8, 3);
  auto model = fresh_model(ObjectiveKind::kAutoregressive);
  TrainerOptions options = quick_options(ObjectiveKind::kAutoregressive, 2);
  options.out_dir = dir.path.string();
  train_model(*model, examples, options);
  options.lr = 1e-4;
  auto again = fresh_model(ObjectiveKind::kAutoregressive);
  try {
    train_model(*again, examples, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
  }
}

TEST(Trainer, MixedPrecisionKeepsFloat32MasterWeights) {
  auto model = fresh_model(ObjectiveKind::kAutoregressive);
  TrainerOptions options = quick_options(ObjectiveKind::kAutoregressive, 30);
  options.precision = TrainingPrecision::kMixedBFloat16;
  const TrainingOutcome outcome = train_model(*model, reversal_examples(16, 1), options);
  EXPECT_EQ(model->dtype(), torch::kFloat32);
  EXPECT_LT(outcome.losses.back(), outcome.losses.front());
  options.precision = TrainingPrecision::kBFloat16;
  EXPECT_THROW(train_model(*model, reversal_examples(16, 1), options), Error);  // float32 weights given
}

// ---- AR -> diffusion ----

TEST(DiffusionInit, KeepsTheWeightsAndSwitchesTheConfig) {
  auto ar = random_transformer(tiny_config(), 4);
  auto dream = diffusion_model_from(*ar, {kMask, true});
  EXPECT_EQ(dream->config().model_type, "Dream");
  EXPECT_TRUE(dream->config().bidirectional);
  EXPECT_TRUE(dream->config().shift_logits);
  EXPECT_EQ(dream->config().mask_token_id, std::optional<int64_t>(kMask));
  auto before = ar->named_parameters(), after = dream->named_parameters();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].first, after[i].first);
    EXPECT_TRUE(torch::equal(before[i].second, after[i].second)) << before[i].first;
  }
  {
    torch::NoGradGuard no_grad;
    after[0].second.add_(1.0);  // independent storage
  }
  EXPECT_FALSE(torch::equal(before[0].second, after[0].second));

  auto llada_style = diffusion_model_from(*ar, {kMask, false});
  EXPECT_EQ(llada_style->config().model_type, "qwen2");
  EXPECT_TRUE(llada_style->config().bidirectional);
  EXPECT_FALSE(llada_style->config().shift_logits);

  TempDir dir("dream_config");
  save_checkpoint(*dream, dir.path.string());
  auto reloaded = load_checkpoint(dir.path.string());
  EXPECT_EQ(reloaded->config().model_type, "Dream");
  EXPECT_TRUE(reloaded->config().shift_logits);
  EXPECT_EQ(reloaded->config().mask_token_id, std::optional<int64_t>(kMask));
}


// ---- block diffusion ----

TEST(BlockDiffusionObjective, MasksOneBlockOfTargetsUnderBlockCausalAttention) {
  auto examples = reversal_examples(64, 5);
  std::vector<int64_t> rows(64);
  for (int64_t i = 0; i < 64; ++i) rows[static_cast<size_t>(i)] = i;
  // Source 4 digits + [SEP] (columns 0-4), target 4 digits + [EOS] (columns 5-9): blocks of 4 put the
  // target in blocks 1 (columns 5-7) and 2 (columns 8-9).
  TrainingBatch batch = make_training_batch(examples, rows, kPad);
  DiffusionOptions options = paper_diffusion_options();
  options.mask_token_id = kMask;
  options.block_length = 4;
  at::Generator generator = make_generator(3);
  DiffusionNoise noise = sample_diffusion_noise(batch, options, generator);
  const torch::Tensor block_of = torch::arange(batch.width()).div(4, "floor");
  int64_t chose_first = 0;
  for (int64_t r = 0; r < 64; ++r) {
    torch::Tensor eligible = noise.eligible[r];
    torch::Tensor blocks = block_of.masked_select(eligible);
    ASSERT_GT(blocks.numel(), 0);
    const int64_t block = blocks[0].item<int64_t>();
    ASSERT_TRUE(block == 1 || block == 2) << block;
    chose_first += block == 1;
    // Every target token of that block, nothing else.
    EXPECT_TRUE(torch::equal(eligible, batch.target_mask[r] & (block_of == block)));
    EXPECT_FALSE((noise.masked[r] & eligible.logical_not()).any().item<bool>());
  }
  EXPECT_GT(chose_first, 10);
  EXPECT_LT(chose_first, 54);
  LossInputs inputs = diffusion_loss_inputs(batch, noise, options);
  EXPECT_EQ(inputs.attention.kind, AttentionKind::kBlockCausal);
  EXPECT_EQ(inputs.attention.block_size, 4);
  // The token shift: output j-1 scores masked token j, also across a block boundary (the first token of
  // a block is read from the clean block before it).
  torch::Tensor scored = inputs.weights != 0;
  EXPECT_TRUE(torch::equal(scored.narrow(1, 0, batch.width() - 1), noise.masked.narrow(1, 1, batch.width() - 1)));

  // Complementary masks: the batch twice, the second copy masking exactly the rest of the current block.
  const auto [doubled, both] = with_complementary_masks(batch, noise);
  ASSERT_EQ(doubled.batch_size(), 128);
  torch::Tensor first = both.masked.narrow(0, 0, 64), second = both.masked.narrow(0, 64, 64);
  EXPECT_TRUE(torch::equal(first, noise.masked));
  EXPECT_FALSE((first & second).any().item<bool>());
  EXPECT_TRUE(torch::equal(first | second, noise.eligible));
  ObjectiveOptions objective;
  objective.kind = ObjectiveKind::kDiffusion;
  objective.diffusion = options;
  objective.diffusion.complementary_masks = true;
  at::Generator again = make_generator(3);
  LossInputs paired = objective_loss_inputs(batch, objective, again);
  EXPECT_EQ(paired.tokens.size(0), 128);
  EXPECT_EQ(scored_positions(paired), noise.eligible.sum().item<int64_t>());  // every eligible token once per pair
  options.complementary_masks = true;
  options.block_length.reset();
  EXPECT_THROW(validate_diffusion_options(options), Error);
}

TEST(BlockDiffusionObjective, TrainsFromAnArCheckpoint) {
  auto ar = random_transformer(tiny_config(), 1);
  auto model = diffusion_model_from(*ar, {kMask, true, 2});  // Fast-dLLM v2: same weights, token shift, blocks of 2
  EXPECT_EQ(model->config().block_size, std::optional<int64_t>(2));
  EXPECT_EQ(model->config().attention_kind(), "block-causal");
  auto examples = reversal_examples(16, 1);
  TrainerOptions options = quick_options(ObjectiveKind::kDiffusion, 150);
  // A block model trained with the full-sequence objective is refused, and the other way round.
  options.steps = 1;
  EXPECT_THROW(train_model(*model, examples, options), Error);
  options.objective.diffusion.block_length = 3;
  EXPECT_THROW(train_model(*model, examples, options), Error);
  options.objective.diffusion.block_length = 2;
  options.objective.diffusion.complementary_masks = true;
  options.steps = 150;
  const TrainingOutcome outcome = train_model(*model, examples, options);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) {
    first += outcome.losses[static_cast<size_t>(i)];
    last += outcome.losses[outcome.losses.size() - 1 - static_cast<size_t>(i)];
  }
  EXPECT_LT(last, 0.5 * first);
  TempDir dir("block_config");
  save_checkpoint(*model, dir.path.string());
  EXPECT_EQ(load_checkpoint(dir.path.string())->config().block_size, std::optional<int64_t>(2));
}

}  // namespace
}  // namespace stepwise::training
