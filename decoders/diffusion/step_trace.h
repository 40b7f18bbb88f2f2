// Per-step bookkeeping shared by the diffusion decoders (torch-free): the step at which each generated
// position got its final token, the canvas after every step when a trace is asked for, and the cost of
// every step (canvas columns fed to the model), and with history the decision margins of deterministic
// steps. Fills the trace fields of a DecodeResult.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "decoders/decoder.h"
#include "decoders/diffusion/decision_margin.h"

namespace stepwise {

// What the masked-diffusion decoders (full-sequence and block) report alike at the end of a decode.
struct DiffusionOutcome {
  std::vector<std::vector<int64_t>> tokens;  // per row, the generated part of the canvas
  int64_t forward_calls = 0;
  int64_t full_forwards = 0;
  int64_t partial_forwards = 0;
  double wall_s = 0.0;
  double first_token_s = 0.0;
  std::string decoder;    // details "decoder"
  std::string selection;  // details "selection", "schedule", "cache", as text
  std::string schedule;
  std::string cache;
};

// The outcome as both diffusion decoders fill it: the generated tokens, the counts of `forward` (a
// CanvasForward or BlockForward) and the selection / schedule / cache names of `config` (a DiffusionConfig
// or BlockConfig; the to_string overloads are found where the call is compiled).
template <class Forward, class Config>
DiffusionOutcome make_outcome(std::string decoder, std::vector<std::vector<int64_t>> tokens, const Forward& forward,
                              const Config& config, double wall_s, double first_token_s) {
  DiffusionOutcome outcome;
  outcome.tokens = std::move(tokens);
  outcome.forward_calls = forward.forward_calls();
  outcome.full_forwards = forward.full_forwards();
  outcome.partial_forwards = forward.partial_forwards();
  outcome.wall_s = wall_s;
  outcome.first_token_s = first_token_s;
  outcome.decoder = std::move(decoder);
  outcome.selection = to_string(config.selection);
  outcome.schedule = config.threshold ? "threshold" : to_string(config.schedule);
  outcome.cache = to_string(config.cache);
  return outcome;
}

class StepTrace {
 public:
  StepTrace(int64_t rows, int64_t gen_len, bool keep_history);

  // `position` counts from the first generated position; `step` is the 0-based forward-call index.
  void set_commit(int64_t row, int64_t position, int64_t step) {
    commit_step_[static_cast<size_t>(row)][static_cast<size_t>(position)] = step;
  }
  int64_t commit_of(int64_t row, int64_t position) const {
    return commit_step_[static_cast<size_t>(row)][static_cast<size_t>(position)];
  }
  bool keeps_history() const { return keep_history_; }
  // Folds one step's decision margins of `row` into the row's smallest (only kept with history).
  void note_margins(int64_t row, const DecisionMargins& margins) {
    if (!keep_history_) return;
    margins_[static_cast<size_t>(row)].merge(margins);
    margins_noted_ = true;
  }
  // Closes a step: its generated canvas (when keeping history) and the columns fed per row and pass.
  void end_step(std::vector<std::vector<int64_t>> generated, int64_t tokens_fed);
  int64_t steps() const { return static_cast<int64_t>(tokens_fed_.size()); }

  // commit_step and history into `result`; details gets "steps", "tokens_fed_per_step" and
  // "reveals_per_step" (per row: positions whose commit step is s, for every step s); with history and
  // margins noted, "decision_margins" (per row: the smallest "token" and "order" margin and the largest
  // "logit_scale"; a margin no step had is left out).
  void fill(DecodeResult& result) const;

  // The result of a diffusion decode: `outcome`'s tokens and counts, the trace (fill), generated_tokens
  // (every canvas position) and the details keys decoder, selection, schedule, cache, full_forwards and
  // partial_forwards; the decoder adds its own keys.
  DecodeResult result(DiffusionOutcome outcome) const;

 private:
  bool keep_history_;
  std::vector<std::vector<int64_t>> commit_step_;           // (B, N); -1 = fixed in advance or never committed
  std::vector<std::vector<std::vector<int64_t>>> history_;  // per step (B, N)
  std::vector<int64_t> tokens_fed_;                         // per step
  std::vector<DecisionMargins> margins_;                    // per row, with history
  bool margins_noted_ = false;
};

}  // namespace stepwise
