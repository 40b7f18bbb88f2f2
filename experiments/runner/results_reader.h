// Loads an HDF5 results file back into RunRecords and metadata: for tests, for resuming an
// experiment and for tools that re-score or re-tabulate results. Reads the schema_version this build
// writes and older ones (version 1 lacks ttft_s, which reads as 0); a missing, foreign, damaged or
// newer file is a stepwise::Error that names the file. The /summary group is derived data and is not read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/runner/results_metadata.h"
#include "experiments/runner/run_record.h"

namespace stepwise::runner {

struct ResultsFile {
  int64_t schema_version = 0;   // as stored in the file
  ResultsMetadata metadata;     // every text attribute of the root group
  std::vector<RunRecord> runs;  // in the order they were written
};

ResultsFile read_results_hdf5(const std::string& path);

}  // namespace stepwise::runner
