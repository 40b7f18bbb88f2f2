// Token sequences for calibrating and evaluating quantization, read from a file: JSON Lines of task
// records {"input", "output"} (the plain character format of models trained here: source [SEP]
// target [EOS]), of {"ids": [...]} or of {"text": "..."}; any file not ending in .jsonl is plain text.
// Text goes through the model's tokenizer and is cut into chunks of the requested length; records
// are one sequence each. All sequences are cut to one length (the shortest, at most seq_len) so they
// batch without padding. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "experiments/tasks/task_record.h"

namespace stepwise::cli {

struct CalibrationRequest {
  std::string path;
  int64_t samples = 128;   // sequences wanted (fewer when the file has fewer)
  int64_t seq_len = 512;   // tokens per sequence at most
  int64_t skip = 0;        // sequences skipped first (evaluation data after the calibration data)
  int64_t vocab_size = 0;  // every id is checked against it
};

// `tokenizer` is needed only for text (nullptr: an error naming the file when text is found).
std::vector<std::vector<int64_t>> read_calibration(const CalibrationRequest& request, const Tokenizer* tokenizer);

// The same from generated task problems (one sequence each, as the file's task records); request.path
// names them in errors (e.g. "--task sudoku").
std::vector<std::vector<int64_t>> task_calibration(const std::vector<tasks::TaskRecord>& problems,
                                                   const CalibrationRequest& request);

}  // namespace stepwise::cli
