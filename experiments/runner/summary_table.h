// The table the runner prints at the end of an experiment: one row per run with fixed-width columns
// name, accuracy, NFE (mean forward calls), tokens/s, wall time and the mean and 90th percentile of the
// time to first token (ms below a second). Text only; printing is the caller's.
#pragma once

#include <string>
#include <vector>

#include "experiments/runner/run_record.h"

namespace stepwise::runner {

// Names longer than kMaxNameWidth code points are cut with "...". Every line ends in "\n".
inline constexpr size_t kMaxNameWidth = 48;
std::string format_summary_table(const std::vector<RunRecord>& runs);

}  // namespace stepwise::runner
