// Test helpers: fixture paths, expected.json, temporary directories, magnitudes for numeric bounds.
#include "tests/support/fixture_utils.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>

#include "tests/support/numeric_bounds.h"

namespace stepwise::testing {

std::string fixture_model(const std::string& name) { return std::string(STEPWISE_FIXTURES) + "/models/" + name; }

nlohmann::json fixture_expected(const std::string& name) {
  std::ifstream in(fixture_model(name) + "/expected.json");
  return nlohmann::json::parse(in);
}

torch::Tensor json_matrix(const nlohmann::json& rows) {
  std::vector<float> values;
  for (const auto& row : rows)
    for (const auto& value : row) values.push_back(value.get<float>());
  const int64_t count = static_cast<int64_t>(rows.size());
  return torch::tensor(values).view({count, -1});
}

std::vector<int64_t> json_ids(const nlohmann::json& ids) { return ids.get<std::vector<int64_t>>(); }

TempDir::TempDir() {
  std::random_device device;
  path_ = std::filesystem::temp_directory_path() / ("stepwise-test-" + std::to_string(device()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void copy_fixture(const std::string& name, const std::filesystem::path& destination) {
  namespace fs = std::filesystem;
  fs::create_directories(destination);
  for (const auto& entry : fs::directory_iterator(fixture_model(name))) {
    const fs::path target = destination / entry.path().filename();
    fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing);
    fs::permissions(target, fs::perms::owner_write, fs::perm_options::add);
  }
}

double max_abs(const torch::Tensor& x) { return x.abs().max().item<double>(); }

double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) { return max_abs(a - b); }

namespace {

bool report_bounds() { return std::getenv("STEPWISE_REPORT_BOUNDS") != nullptr; }

}  // namespace

void expect_within_bound(double difference, double bound, const std::string& label) {
  EXPECT_LE(difference, bound) << label;
  if (report_bounds())
    std::printf("bound %s: %.3g of %.3g (%.1f %%)\n", label.c_str(), difference, bound, 100.0 * difference / bound);
}

void expect_margin_above(double margin, double required, const std::string& label) {
  EXPECT_GT(margin, required) << label << ": a choice is a near-tie within rounding";
  if (report_bounds()) std::printf("margin %s: %.3g, needs > %.3g\n", label.c_str(), margin, required);
}

int64_t forward_reduction_length(const TransformerConfig& config, int64_t tokens) {
  return std::max({config.intermediate_size, config.hidden_size, config.num_heads * config.head_dim, tokens});
}

torch::Tensor top_two_gaps(const torch::Tensor& logits) {
  torch::Tensor top = std::get<0>(logits.topk(2, -1));  // (T, 2)
  return top.select(-1, 0) - top.select(-1, 1);
}

namespace {

// Logits (n, V) of the steps that produced `generated`: rows P-1 .. P+n-2 of one causal forward.
torch::Tensor greedy_step_logits(const Transformer& model, const std::vector<int64_t>& prompt,
                                 const std::vector<int64_t>& generated) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> sequence = prompt;
  sequence.insert(sequence.end(), generated.begin(), generated.end());
  const int64_t length = static_cast<int64_t>(sequence.size());
  const int64_t prompt_length = static_cast<int64_t>(prompt.size());
  const int64_t steps = static_cast<int64_t>(generated.size());
  torch::Tensor logits = model.forward(torch::tensor(sequence, torch::kInt64).view({1, length}),
                                       torch::arange(length).view({1, length}))[0];  // (T, V)
  return logits.narrow(0, prompt_length - 1, steps).to(torch::kFloat32);
}

}  // namespace

GreedyMargins greedy_margins(const Transformer& model, const std::vector<int64_t>& prompt,
                             const std::vector<int64_t>& generated) {
  torch::Tensor logits = greedy_step_logits(model, prompt, generated);  // (n, V)
  torch::Tensor chosen = torch::tensor(generated, torch::kInt64).view({-1, 1});
  torch::Tensor chosen_logit = logits.gather(1, chosen).squeeze(1);                        // (n)
  torch::Tensor others = logits.scatter(1, chosen, -std::numeric_limits<float>::infinity());  // (n, V)
  torch::Tensor margins = (chosen_logit - std::get<0>(others.max(1))).to(torch::kFloat64).contiguous();
  GreedyMargins out;
  out.margins.assign(margins.data_ptr<double>(), margins.data_ptr<double>() + margins.numel());
  const TransformerConfig& config = model.config();
  const int64_t length = static_cast<int64_t>(prompt.size() + generated.size());
  out.bound = model.dtype() == torch::kBFloat16
                  ? bfloat16_pair_bound(max_abs(logits), bfloat16_forward_roundings(config.num_layers))
                  : float32_bound(max_abs(logits), forward_reduction_length(config, length));
  return out;
}

size_t stable_greedy_steps(const Transformer& model, const std::vector<int64_t>& prompt,
                           const std::vector<int64_t>& generated) {
  const GreedyMargins greedy = greedy_margins(model, prompt, generated);
  size_t steps = 0;
  while (steps < greedy.margins.size() && greedy.margins[steps] > stable_top_two_gap(greedy.bound)) ++steps;
  return steps;
}

void expect_stable_greedy(const Transformer& model, const std::vector<int64_t>& prompt,
                          const std::vector<int64_t>& generated, const std::string& label) {
  ASSERT_FALSE(generated.empty()) << label;
  const GreedyMargins greedy = greedy_margins(model, prompt, generated);
  const double smallest = *std::min_element(greedy.margins.begin(), greedy.margins.end());
  expect_margin_above(smallest, stable_top_two_gap(greedy.bound), label);
}

void expect_equal_until_near_tie(const Transformer& model, const std::vector<int64_t>& prompt,
                                 const std::vector<int64_t>& expected, const std::vector<int64_t>& got,
                                 const std::string& label) {
  const auto split = static_cast<size_t>(
      std::mismatch(expected.begin(), expected.end(), got.begin(), got.end()).first - expected.begin());
  if (split == expected.size() && got.size() == expected.size()) return;
  ASSERT_LT(split, expected.size()) << label << ": longer than its alone run";
  const GreedyMargins greedy = greedy_margins(model, prompt, expected);
  EXPECT_LE(greedy.margins.at(split), stable_top_two_gap(greedy.bound))
      << label << ": differs from its alone run at step " << split << ", which was not a near-tie";
}

CommittedMargin min_committed_margin(const Transformer& model, const std::vector<int64_t>& prompt,
                                     const std::vector<std::vector<std::vector<int64_t>>>& history, size_t row,
                                     int64_t mask_id, std::optional<double> cfg_scale) {
  torch::NoGradGuard no_grad;
  CommittedMargin out;
  if (history.empty()) return out;
  const int64_t p = static_cast<int64_t>(prompt.size()), n = static_cast<int64_t>(history[0].at(row).size());
  const int64_t width = p + n, shift = model.config().shift_logits ? 1 : 0;
  auto forward = [&](const std::vector<int64_t>& canvas) {
    ForwardOptions options;
    options.attention = AttentionSpec::bidirectional();
    torch::Tensor logits = model.forward(torch::tensor(canvas, torch::kInt64).view({1, width}),
                                         torch::arange(width).view({1, width}), options)[0];  // (W, V)
    out.scale = std::max(out.scale, max_abs(logits));
    return logits;
  };
  std::vector<int64_t> before(static_cast<size_t>(n), mask_id);
  for (const auto& step : history) {
    std::vector<int64_t> canvas = prompt;
    canvas.insert(canvas.end(), before.begin(), before.end());
    torch::Tensor logits = forward(canvas);
    if (cfg_scale) {
      std::fill(canvas.begin(), canvas.begin() + p, mask_id);
      const torch::Tensor unconditional = forward(canvas);
      logits = unconditional + (*cfg_scale + 1.0) * (logits - unconditional);
    }
    const std::vector<int64_t>& after = step.at(row);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t token = after[static_cast<size_t>(j)];
      if (before[static_cast<size_t>(j)] != mask_id || token == mask_id) continue;  // not committed now
      torch::Tensor logit_row = logits[p + j - shift].clone();  // (V)
      const double chosen = logit_row[token].item<double>();
      logit_row[token] = -INFINITY;
      out.margin = std::min(out.margin, chosen - logit_row.max().item<double>());
    }
    before = after;
  }
  // Guided logits move by at most |s + 1| times the conditional's rounding plus |s| times the other's.
  const double amplification = cfg_scale ? std::abs(*cfg_scale + 1.0) + std::abs(*cfg_scale) : 1.0;
  out.bound = amplification * float32_bound(out.scale, forward_reduction_length(model.config(), width));
  return out;
}

void expect_firm_diffusion_decisions(const nlohmann::json& details, const TransformerConfig& config,
                                     std::optional<double> cfg_scale, int64_t width, const std::string& label) {
  ASSERT_TRUE(details.contains("decision_margins")) << label << ": no decision margins (trace off or sampled)";
  const double amplification = cfg_scale ? std::abs(*cfg_scale + 1.0) + std::abs(*cfg_scale) : 1.0;
  const nlohmann::json& rows = details["decision_margins"];
  for (size_t r = 0; r < rows.size(); ++r) {
    const double delta =
        amplification * float32_bound(rows[r]["logit_scale"].get<double>(), forward_reduction_length(config, width));
    const std::string row = label + " row " + std::to_string(r);
    if (rows[r].contains("token")) expect_margin_above(rows[r]["token"].get<double>(), 2.0 * delta, row + " token");
    if (rows[r].contains("order")) expect_margin_above(rows[r]["order"].get<double>(), 2.0 * delta, row + " commit order");
  }
}

}  // namespace stepwise::testing
