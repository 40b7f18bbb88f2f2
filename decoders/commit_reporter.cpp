// Commit reporting to a request's step observer.
#include "decoders/commit_reporter.h"

#include <algorithm>

namespace stepwise {

CommitReporter::CommitReporter(const DecodeRequest& request, size_t rows)
    : observer_(request.observer), cancelled_(rows, false), reported_(rows) {}

bool CommitReporter::all_cancelled() const {
  return !cancelled_.empty() && std::all_of(cancelled_.begin(), cancelled_.end(), [](bool c) { return c; });
}

void CommitReporter::report(StepCommit commit) {
  if (commit.positions.empty() || cancelled_[commit.row]) return;
  if (observer_(commit) == StepVerdict::kCancelRow) cancelled_[commit.row] = true;
}

void CommitReporter::report_appended(size_t row, int64_t step, int64_t first_position,
                                     const std::vector<int64_t>& tokens) {
  if (!active()) return;
  StepCommit commit;
  commit.row = row;
  commit.step = step;
  commit.tokens = tokens;
  for (size_t i = 0; i < tokens.size(); ++i) commit.positions.push_back(first_position + static_cast<int64_t>(i));
  report(std::move(commit));
}

void CommitReporter::report_canvas(const std::vector<std::vector<int64_t>>& generated, int64_t mask_id,
                                   int64_t step) {
  if (!active()) return;
  for (size_t row = 0; row < generated.size() && row < reported_.size(); ++row) {
    std::vector<bool>& seen = reported_[row];
    seen.resize(generated[row].size(), false);
    StepCommit commit;
    commit.row = row;
    commit.step = step;
    for (size_t i = 0; i < generated[row].size(); ++i) {
      if (seen[i] || generated[row][i] == mask_id) continue;
      seen[i] = true;
      commit.positions.push_back(static_cast<int64_t>(i));
      commit.tokens.push_back(generated[row][i]);
    }
    report(std::move(commit));
  }
}

}  // namespace stepwise
