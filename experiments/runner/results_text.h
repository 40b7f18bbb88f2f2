// The plain-text results files: a CSV summary (one row per run) for spreadsheets and pandas, and
// JSONL predictions (one object per example per run) for reading outputs. Both are written
// atomically. Column lists are in docs/results_format.md; the HDF5 file remains the complete record.
#pragma once

#include <string>
#include <vector>

#include "experiments/runner/run_record.h"

namespace stepwise::runner {

// Header: run_id,name,decoder_type,model,task,metric,<settings keys, sorted union over runs>,
// n,accuracy,mean_nfe,tokens_per_s,wall_s,ttft_mean_s,ttft_p90_s. A settings key that equals one of the fixed columns
// is written as "settings.<key>". A run without a key has an empty cell. RFC 4180 quoting, "\n" line ends.
std::string format_summary_csv(const std::vector<RunRecord>& runs);
void write_summary_csv(const std::string& path, const std::vector<RunRecord>& runs);

// One line per example per run: {"run_id", "name", "index", "prediction", "reference", "correct",
// "nfe", "wall_s", "ttft_s"}. Invalid UTF-8 bytes in the texts become U+FFFD.
std::string format_predictions_jsonl(const std::vector<RunRecord>& runs);
void write_predictions_jsonl(const std::string& path, const std::vector<RunRecord>& runs);

// One CSV field, quoted when it holds a comma, quote, CR or LF, or starts or ends with a space.
std::string csv_field(const std::string& value);

}  // namespace stepwise::runner
