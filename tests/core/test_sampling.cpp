// core/sampling on its own: greedy choice, the temperature / top-p / top-k cut-offs on hand-made
// distributions whose answer is known, seeded reproducibility, draws that follow the distribution,
// confidence scores against float64 formulas and LLaDA's Gumbel perturbation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "core/tensor/sampling.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

// logits (1, V) whose softmax is exactly proportional to `probs` (up to float32 rounding of the logs).
torch::Tensor logits_for(const std::vector<double>& probs) {
  std::vector<float> logs;
  for (double p : probs) logs.push_back(static_cast<float>(std::log(p)));
  return torch::tensor(logs).view({1, -1});
}

// Which entries of filtered logits (1, V) survived (are finite).
std::vector<bool> kept(const torch::Tensor& filtered) {
  std::vector<bool> out;
  auto at = filtered.accessor<float, 2>();
  for (int64_t i = 0; i < filtered.size(1); ++i) out.push_back(std::isfinite(at[0][i]));
  return out;
}

SamplingParams sampled(double temperature, std::optional<int64_t> top_k = std::nullopt,
                       std::optional<double> top_p = std::nullopt) {
  SamplingParams params;
  params.temperature = temperature;
  params.top_k = top_k;
  params.top_p = top_p;
  return params;
}

TEST(Sampling, GreedyTakesEachRowsArgmaxWhateverTheSeed) {
  torch::Tensor logits = torch::tensor({{0.1f, 2.0f, -1.0f, 1.9f}, {5.0f, -2.0f, 4.0f, 0.0f}});
  for (uint64_t seed : {0u, 1u, 99u}) {
    at::Generator generator = make_generator(seed);
    const torch::Tensor chosen = choose_tokens(logits, SamplingParams{}, generator);
    EXPECT_EQ(chosen[0].item<int64_t>(), 1);
    EXPECT_EQ(chosen[1].item<int64_t>(), 0);
  }
}

TEST(Sampling, TemperatureDividesTheLogits) {
  torch::Tensor logits = torch::tensor({{1.0f, -3.0f, 0.5f}});
  // Division by 2 is exact in float32.
  EXPECT_TRUE(torch::equal(filter_logits(logits, sampled(2.0)), logits / 2));
}

TEST(Sampling, TopKKeepsTheKLargest) {
  torch::Tensor logits = torch::tensor({{1.0f, 5.0f, 3.0f, 4.0f, 2.0f}});
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, 2))), (std::vector<bool>{false, true, false, true, false}));
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, 1))), (std::vector<bool>{false, true, false, false, false}));
  // k at or above the vocabulary keeps everything.
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, 9))), std::vector<bool>(5, true));
}

TEST(Sampling, TopPKeepsTheSmallestSetReachingPIncludingTheTokenThatCrossesIt) {
  // Sorted probabilities 0.5, 0.3, 0.15, 0.05: cumulative 0.5, 0.8, 0.95, 1.0 (no cut-off near a boundary).
  torch::Tensor logits = logits_for({0.15, 0.5, 0.05, 0.3});
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, std::nullopt, 0.4))), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, std::nullopt, 0.6))), (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, std::nullopt, 0.9))), (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, std::nullopt, 1.0))), std::vector<bool>(4, true));
  // The kept tokens renormalise: 0.5 / 0.8 and 0.3 / 0.8. float32 logs, softmax over 4 entries: a few
  // roundings of values below 1.
  const torch::Tensor probs = probabilities(logits, sampled(1.0, std::nullopt, 0.6));
  const torch::Tensor expected = torch::tensor({{0.0, 0.625, 0.0, 0.375}}, torch::kFloat64);
  testing::expect_within_bound(testing::max_abs_difference(probs.to(torch::kFloat64), expected),
                               testing::float32_bound(1.0, 8), "top-p renormalised");
}

TEST(Sampling, TopPThenTopKBothApply) {
  torch::Tensor logits = logits_for({0.15, 0.5, 0.05, 0.3});
  // top-p 0.9 keeps three tokens, top-k 2 then keeps the two largest of them.
  EXPECT_EQ(kept(filter_logits(logits, sampled(1.0, 2, 0.9))), (std::vector<bool>{false, true, false, true}));
}

TEST(Sampling, TheSameSeedGivesTheSameDrawsAndAnotherSeedOthers) {
  torch::Tensor probs = torch::full({64, 16}, 1.0f / 16);
  auto draw = [&](uint64_t seed) {
    at::Generator generator = make_generator(seed);
    return sample_from(probs, generator);
  };
  EXPECT_TRUE(torch::equal(draw(5), draw(5)));
  // 64 uniform draws over 16 tokens agree for two seeds with probability 16^-64.
  EXPECT_FALSE(torch::equal(draw(5), draw(6)));
}

TEST(Sampling, DrawsFollowTheDistribution) {
  const std::vector<double> p = {0.1, 0.6, 0.3};
  constexpr int64_t kDraws = 20000;
  torch::Tensor probs = torch::tensor({0.1f, 0.6f, 0.3f}).view({1, 3}).expand({kDraws, 3}).contiguous();
  at::Generator generator = make_generator(3);
  const torch::Tensor drawn = sample_from(probs, generator);  // (N)
  for (int64_t token = 0; token < 3; ++token) {
    const double frequency = (drawn == token).sum().item<double>() / kDraws;
    // Binomial standard error sqrt(p (1 - p) / N); 6 of them leave a false alarm at ~1e-9.
    const double tolerance = 6.0 * std::sqrt(p[static_cast<size_t>(token)] * (1 - p[static_cast<size_t>(token)]) / kDraws);
    EXPECT_NEAR(frequency, p[static_cast<size_t>(token)], tolerance) << "token " << token;
  }
}

TEST(Sampling, AFilteredOutTokenIsNeverDrawn) {
  torch::Tensor logits = torch::tensor({{2.0f, 1.9f, 0.0f, -1.0f}}).expand({500, 4}).contiguous();
  at::Generator generator = make_generator(11);
  const torch::Tensor drawn = choose_tokens(logits, sampled(1.5, 2), generator);  // (500)
  EXPECT_TRUE(((drawn == 0) | (drawn == 1)).all().item<bool>());
  EXPECT_TRUE((drawn == 1).any().item<bool>());  // both survivors occur: ~0.45 each per draw
}

TEST(Sampling, ConfidenceScoresFollowTheirFormulas) {
  const std::vector<std::vector<double>> rows = {{0.7, 0.2, 0.1}, {0.25, 0.25, 0.5}};
  torch::Tensor probs = torch::tensor({0.7f, 0.2f, 0.1f, 0.25f, 0.25f, 0.5f}).view({2, 3});
  const torch::Tensor token = torch::tensor({1, 2}, torch::kInt64);
  std::vector<double> max_prob, given, margin, neg_entropy;
  for (const auto& row : rows) {
    std::vector<double> sorted = row;
    std::sort(sorted.rbegin(), sorted.rend());
    max_prob.push_back(sorted[0]);
    margin.push_back(sorted[0] - sorted[1]);
    double sum = 0.0;
    for (double p : row) sum += p * std::log(p + 1e-10);
    neg_entropy.push_back(sum);
  }
  given = {0.2, 0.5};
  auto expect_scores = [](const torch::Tensor& actual, const std::vector<double>& expected, const char* label) {
    // float32 inputs (rounded by eps / 2 each) and at most 3 terms: 3 roundings of values below 1.
    testing::expect_within_bound(testing::max_abs_difference(actual.to(torch::kFloat64),
                                                             torch::tensor(expected, torch::kFloat64)),
                                 testing::float32_bound(1.0, 3), label);
  };
  expect_scores(confidence(probs, ConfidenceKind::kMaxProb), max_prob, "max prob");
  expect_scores(confidence(probs, ConfidenceKind::kMaxProb, token), given, "prob of the given token");
  expect_scores(confidence(probs, ConfidenceKind::kMargin), margin, "margin");
  expect_scores(confidence(probs, ConfidenceKind::kNegEntropy), neg_entropy, "negative entropy");
}

TEST(Sampling, GumbelNoiseIsTheDocumentedFloat64Formula) {
  torch::Tensor logits = torch::tensor({{0.5f, -1.0f, 2.0f}, {0.0f, 1.0f, -0.5f}});
  at::Generator unused = make_generator(1);
  EXPECT_TRUE(torch::equal(add_gumbel_noise(logits, 0.0, unused), logits));  // temperature 0: unchanged

  const double temperature = 0.7;
  at::Generator generator = make_generator(42);
  const torch::Tensor noisy = add_gumbel_noise(logits, temperature, generator);
  ASSERT_EQ(noisy.scalar_type(), torch::kFloat64);
  // The same uniform draws from a generator with the same seed, through exp(l) / (-log u)^T in double.
  at::Generator replay = make_generator(42);
  const torch::Tensor uniform = at::rand({2, 3}, replay, torch::TensorOptions().dtype(torch::kFloat64));
  auto u = uniform.accessor<double, 2>();
  auto l = logits.accessor<float, 2>();
  auto n = noisy.accessor<double, 2>();
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 3; ++c) {
      const double expected = std::exp(static_cast<double>(l[r][c])) / std::pow(-std::log(u[r][c]), temperature);
      // float64 exp, log and pow: a few ulps of float64 each.
      EXPECT_NEAR(n[r][c], expected, 1e-14 * std::abs(expected)) << r << "," << c;
    }
  // Reproducible from the seed alone.
  at::Generator again = make_generator(42);
  EXPECT_TRUE(torch::equal(add_gumbel_noise(logits, temperature, again), noisy));
}

}  // namespace
}  // namespace stepwise
