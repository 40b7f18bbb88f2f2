// Passes a decode's commits to the request's StepObserver and remembers which rows it cancelled. AR and
// speculative decoders report the tokens they append; the diffusion decoders report their canvas after
// each step and the reporter finds the positions that were unmasked since the last report. Without an
// observer every call is a no-op. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "decoders/decoder.h"

namespace stepwise {

class CommitReporter {
 public:
  CommitReporter(const DecodeRequest& request, size_t rows);

  bool active() const { return static_cast<bool>(observer_); }

  // Reports `tokens` appended to `row` at generated positions [first_position, first_position + n).
  void report_appended(size_t row, int64_t step, int64_t first_position, const std::vector<int64_t>& tokens);

  // generated: per row, the generated part of the canvas (mask_id where undecided). Reports every position
  // that holds a token now and did not at the previous report (positions fixed in advance: at the first).
  void report_canvas(const std::vector<std::vector<int64_t>>& generated, int64_t mask_id, int64_t step);

  bool cancelled(size_t row) const { return cancelled_[row]; }
  bool all_cancelled() const;

 private:
  void report(StepCommit commit);

  StepObserver observer_;
  std::vector<bool> cancelled_;             // per row
  std::vector<std::vector<bool>> reported_;  // per row and generated position, for report_canvas
};

}  // namespace stepwise
