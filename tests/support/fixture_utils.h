// Helpers shared by the tests: where the fixture checkpoints are, reading expected.json, temporary
// directories that clean up after themselves, and the magnitudes the numeric bounds of
// tests/support/numeric_bounds.h are computed from (largest values, reduction lengths, greedy margins).
#pragma once

#include <torch/types.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/transformer.h"

namespace stepwise::testing {

// tests/fixtures/models/<name>
std::string fixture_model(const std::string& name);
// Parsed tests/fixtures/models/<name>/expected.json
nlohmann::json fixture_expected(const std::string& name);
// A JSON [[...], ...] matrix as a float32 tensor (rows, cols).
torch::Tensor json_matrix(const nlohmann::json& rows);
std::vector<int64_t> json_ids(const nlohmann::json& ids);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Copies every file of a fixture checkpoint into `destination` (writable).
void copy_fixture(const std::string& name, const std::filesystem::path& destination);

// max |x| over a tensor, and max |a - b|.
double max_abs(const torch::Tensor& x);
double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b);

// A gtest failure naming `label` unless difference <= bound. With STEPWISE_REPORT_BOUNDS set in the
// environment it also prints "bound <label>: <difference> of <bound> (<percent>)" to stdout, which is
// how the measured fractions quoted next to the assertions were obtained.
void expect_within_bound(double difference, double bound, const std::string& label);
// A gtest failure naming `label` unless margin > required; reported the same way.
void expect_margin_above(double margin, double required, const std::string& label);

// The longest reduction in one forward pass of `config` over `tokens` positions: the MLP's down
// projection (intermediate size), the other projections and norms (hidden size, heads * head_dim) and
// attention over the keys (tokens).
int64_t forward_reduction_length(const TransformerConfig& config, int64_t tokens);

// logits (T, V) -> (T): largest minus second largest logit of every row.
torch::Tensor top_two_gaps(const torch::Tensor& logits);

// How firmly greedy decoding chose `generated` after `prompt`: one causal forward over prompt +
// generated, and at each generated token its logit minus the largest other logit at the step that
// produced it (negative where the model's argmax is another token).
struct GreedyMargins {
  std::vector<double> margins;  // one per generated token
  double bound = 0.0;  // bound between two forwards in the model's dtype (tests/support/numeric_bounds.h)
};
GreedyMargins greedy_margins(const Transformer& model, const std::vector<int64_t>& prompt,
                             const std::vector<int64_t>& generated);
// The number of leading greedy steps whose margin exceeds twice the bound: the part of `generated`
// that another evaluation order (cache, batch, kernel) must reproduce.
size_t stable_greedy_steps(const Transformer& model, const std::vector<int64_t>& prompt,
                           const std::vector<int64_t>& generated);
// Greedy decoding of `generated` after `prompt` cannot flip under rounding: a gtest failure unless
// every margin exceeds twice the bound.
void expect_stable_greedy(const Transformer& model, const std::vector<int64_t>& prompt,
                          const std::vector<int64_t>& generated, const std::string& label);
// `got` (a greedy decode of `prompt` in another evaluation order: a batch, a speculative round) agrees
// with `expected` (the same decode alone) up to the first step, if any, that the alone run decided by no
// more than twice the bound between two evaluation orders: a near-tie that rounding may flip. From there
// on the two continue from different tokens. A gtest failure otherwise.
void expect_equal_until_near_tie(const Transformer& model, const std::vector<int64_t>& prompt,
                                 const std::vector<int64_t>& expected, const std::vector<int64_t>& got,
                                 const std::string& label);

// How firmly a diffusion decode of a float32 model committed its tokens. `history` is the decode's trace
// (per step, per row, the generated canvas with the mask id where undecided); every token of row `row`
// committed at a step is read from one bidirectional forward of prompt + the canvas before that step
// (shifted one position for shift_logits models): its logit minus the best other logit. With cfg_scale
// the logits are guided as the decoder guides them, un + (s + 1)(cond - un), un from the canvas with the
// prompt masked. These are the decoder's own logits only without a KV cache (a cache keeps stale keys).
struct CommittedMargin {
  double margin = INFINITY;  // smallest committed token's logit minus the best other logit
  double scale = 0.0;        // largest |logit| of the forwards (conditional and unconditional)
  double bound = 0.0;        // float32 bound on the compared logits between two evaluation orders
};
CommittedMargin min_committed_margin(const Transformer& model, const std::vector<int64_t>& prompt,
                                     const std::vector<std::vector<std::vector<int64_t>>>& history, size_t row,
                                     int64_t mask_id, std::optional<double> cfg_scale = std::nullopt);

// Every decision of a traced, deterministic diffusion decode (DecodeRequest::record_trace; greedy tokens,
// confidence-ordered or threshold commits: the decoder's "decision_margins", in logit units) is firmer
// than rounding can move: a gtest failure naming `label` unless, for every row, both the token and the
// order margin exceed twice the float32 bound delta on its logits (twice: the order margin is a first-
// order estimate). With cfg_scale the guided logits amplify rounding by |s + 1| + |s|. `width` is the
// canvas (prompt + generation) length. Such a decode is reproduced exactly by any other evaluation order
// of the same steps (batch shape, cache layout, kernel).
void expect_firm_diffusion_decisions(const nlohmann::json& details, const TransformerConfig& config,
                                     std::optional<double> cfg_scale, int64_t width, const std::string& label);

}  // namespace stepwise::testing
