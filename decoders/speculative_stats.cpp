// Speculative decoding counters and their JSON form (keys documented in speculative_stats.h).
#include "decoders/speculative_stats.h"

#include <nlohmann/json.hpp>

#include <c10/util/Exception.h>

namespace stepwise {

void SpeculativeStats::record_round(int64_t requested, int64_t proposed, int64_t accepted_count) {
  TORCH_INTERNAL_ASSERT(0 <= accepted_count && accepted_count <= proposed && proposed <= requested);
  draft_lengths.push_back(requested);
  if (proposed == 0) return;
  ++draft_rounds;
  drafted += proposed;
  accepted += accepted_count;
  if (static_cast<int64_t>(proposed_at.size()) < proposed) {
    proposed_at.resize(static_cast<size_t>(proposed), 0);
    accepted_at.resize(static_cast<size_t>(proposed), 0);
  }
  for (int64_t i = 0; i < proposed; ++i) ++proposed_at[static_cast<size_t>(i)];
  for (int64_t i = 0; i < accepted_count; ++i) ++accepted_at[static_cast<size_t>(i)];
}

void SpeculativeStats::write_to(nlohmann::json& details) const {
  nlohmann::json position_acceptance = nlohmann::json::array();
  for (size_t i = 0; i < proposed_at.size(); ++i)
    position_acceptance.push_back(static_cast<double>(accepted_at[i]) / static_cast<double>(proposed_at[i]));
  details["draft"] = draft;
  details["drafted"] = drafted;
  details["accepted"] = accepted;
  details["draft_rounds"] = draft_rounds;
  details["acceptance_rate"] = drafted > 0 ? nlohmann::json(static_cast<double>(accepted) / drafted) : nullptr;
  details["mean_acceptance_length"] =
      draft_rounds > 0 ? nlohmann::json(1.0 + static_cast<double>(accepted) / draft_rounds) : nullptr;
  details["position_acceptance"] = position_acceptance;
  details["draft_lengths"] = draft_lengths;
  details["target_forward_calls"] = target_forward_calls;
  details["target_forward_s"] = target_forward_s;
  details["draft_forward_calls"] = draft_forward_calls;
  details["draft_forward_s"] = draft_forward_s;
  if (reused_prompt_tokens) details["reused_prompt_tokens"] = *reused_prompt_tokens;
}

}  // namespace stepwise
