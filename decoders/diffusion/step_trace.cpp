// Step bookkeeping of the diffusion decoders.
#include "decoders/diffusion/step_trace.h"

#include <cmath>
#include <utility>

namespace stepwise {

StepTrace::StepTrace(int64_t rows, int64_t gen_len, bool keep_history)
    : keep_history_(keep_history),
      commit_step_(static_cast<size_t>(rows), std::vector<int64_t>(static_cast<size_t>(gen_len), -1)),
      margins_(keep_history ? static_cast<size_t>(rows) : 0) {}

void StepTrace::end_step(std::vector<std::vector<int64_t>> generated, int64_t tokens_fed) {
  if (keep_history_) history_.push_back(std::move(generated));
  tokens_fed_.push_back(tokens_fed);
}

void StepTrace::fill(DecodeResult& result) const {
  result.commit_step = commit_step_;
  result.history = history_;
  nlohmann::json reveals = nlohmann::json::array();
  for (const auto& row : commit_step_) {
    std::vector<int64_t> counts(tokens_fed_.size(), 0);
    for (int64_t step : row)
      if (step >= 0) ++counts[static_cast<size_t>(step)];
    reveals.push_back(counts);
  }
  result.stats.details["steps"] = steps();
  result.stats.details["tokens_fed_per_step"] = tokens_fed_;
  result.stats.details["reveals_per_step"] = reveals;
  if (!margins_noted_) return;
  nlohmann::json margins = nlohmann::json::array();
  for (const DecisionMargins& row : margins_) {
    nlohmann::json entry = {{"logit_scale", row.logit_scale}};
    if (std::isfinite(row.token)) entry["token"] = row.token;
    if (std::isfinite(row.order)) entry["order"] = row.order;
    margins.push_back(entry);
  }
  result.stats.details["decision_margins"] = margins;
}

DecodeResult StepTrace::result(DiffusionOutcome outcome) const {
  DecodeResult result;
  result.tokens = std::move(outcome.tokens);
  fill(result);
  result.stats.forward_calls = outcome.forward_calls;
  result.stats.wall_s = outcome.wall_s;
  result.stats.first_token_s = outcome.first_token_s;
  for (const auto& row : result.tokens) result.stats.generated_tokens += static_cast<int64_t>(row.size());
  auto& details = result.stats.details;
  details["decoder"] = outcome.decoder;
  details["selection"] = outcome.selection;
  details["schedule"] = outcome.schedule;
  details["cache"] = outcome.cache;
  details["full_forwards"] = outcome.full_forwards;
  details["partial_forwards"] = outcome.partial_forwards;
  return result;
}

}  // namespace stepwise
