// The counters of one speculative decode and the JSON they are reported as (DecodeStats::details).
// The keys are read by benchmarks and tests; each is written here once:
//   draft                   the draft source's description
//   drafted                 draft tokens proposed, summed over rounds
//   accepted                draft tokens accepted, summed over rounds
//   draft_rounds            verification rounds that had at least one draft token
//   acceptance_rate         accepted / drafted (null without drafts)
//   mean_acceptance_length  1 + accepted / draft_rounds: tokens emitted per verification forward that
//                           had drafts, counting the recovered or bonus token (the conventional metric;
//                           null without such rounds)
//   position_acceptance     entry i: rounds that accepted d_{i+1} / rounds that proposed d_{i+1}
//                           (unconditional on earlier positions, so it decreases with i)
//   draft_lengths           the draft length requested in each round (shows the adaptive schedule)
//   target_forward_calls / target_forward_s, draft_forward_calls / draft_forward_s
//   reused_prompt_tokens    prompt tokens loaded from a prefix store (only with prefix reuse)
// Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace stepwise {

struct SpeculativeStats {
  std::string draft;
  int64_t drafted = 0;
  int64_t accepted = 0;
  int64_t draft_rounds = 0;
  std::vector<int64_t> proposed_at;  // per draft position i: rounds that proposed d_{i+1}
  std::vector<int64_t> accepted_at;  // per draft position i: rounds that accepted d_{i+1}
  std::vector<int64_t> draft_lengths;
  int64_t target_forward_calls = 0;
  double target_forward_s = 0.0;
  int64_t draft_forward_calls = 0;
  double draft_forward_s = 0.0;
  std::optional<int64_t> reused_prompt_tokens;

  // One verification round that asked for `requested` drafts, got `proposed` and accepted `accepted`
  // of them (0 <= accepted <= proposed <= requested).
  void record_round(int64_t requested, int64_t proposed, int64_t accepted);

  // Sets every key above in `details` (a JSON object), leaving other keys alone.
  void write_to(nlohmann::json& details) const;
};

}  // namespace stepwise
