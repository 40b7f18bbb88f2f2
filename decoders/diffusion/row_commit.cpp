// One row's commits at one diffusion step.
#include "decoders/diffusion/row_commit.h"

#include <torch/torch.h>

#include "decoders/diffusion/decision_margin.h"
#include "decoders/diffusion/selection.h"

namespace stepwise {

int64_t commit_row(const DiffusionConfig& config, const RevealSchedule& schedule, const RowStep& at,
                   const torch::Tensor& candidates, const torch::Tensor& logits, at::Generator& generator,
                   torch::Tensor row_tokens, int64_t gen_start, StepTrace& trace) {
  const int64_t masked = candidates.size(0);
  if (masked == 0) return 0;
  torch::Tensor picked, tokens;  // (n,) indices into candidates, (n,) tokens
  if (config.selection == Selection::kOrigin) {
    Reveal reveal =
        reveal_independently(logits, schedule.transfer_probability(at.step_in_block), config.sampling, generator);
    picked = reveal.picked;
    tokens = reveal.tokens;
  } else {
    Proposal proposal = propose(logits, config.selection, config.sampling, generator);
    if (config.threshold) {
      picked = pick_above_threshold(proposal.confidence, *config.threshold);
    } else {
      const int64_t n = schedule.count(at.step_in_block, masked, at.masked_at_start);
      picked = pick_most_confident(proposal.confidence, n, config.alg_temp, generator);
    }
    tokens = proposal.tokens.index_select(0, picked);
    // Margins mean something only where every choice is an argmax: greedy tokens, confidence order (and
    // confidences from the unfiltered softmax, which decision_margins recomputes).
    const bool deterministic = config.sampling.greedy() && !config.sampling.top_k && !config.sampling.top_p &&
                               !config.alg_temp && config.selection != Selection::kRandom;
    if (deterministic && trace.keeps_history())
      trace.note_margins(at.row,
                        decision_margins(logits, proposal.confidence, picked, config.threshold, config.selection));
  }
  torch::Tensor columns = candidates.index_select(0, picked);  // (n,)
  row_tokens.index_put_({columns}, tokens.to(row_tokens.device()));
  torch::Tensor cpu_columns = columns.to(torch::kCPU);
  const int64_t* column = cpu_columns.data_ptr<int64_t>();
  for (int64_t i = 0; i < cpu_columns.numel(); ++i) trace.set_commit(at.row, column[i] - gen_start, at.step);
  return cpu_columns.numel();
}

}  // namespace stepwise
