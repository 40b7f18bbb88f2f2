// Turning the experiment's task into decoder inputs and decoder outputs back into answers: loads or
// generates the evaluation records, builds each prompt in the spec's format (plain character
// sequences for models trained here, Dream's few-shot text for pretrained checkpoints) and maps
// generated token ids to the prediction text the scorers read. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "experiments/runner/experiment_spec.h"
#include "experiments/tasks/task_record.h"

namespace stepwise::runner {

// The evaluation records: the first num_examples of the file, or generated from task.seed. For the
// few-shot format the first 8 records are the worked examples and are not evaluated.
struct TaskData {
  std::vector<tasks::TaskRecord> shots;
  std::vector<tasks::TaskRecord> evaluation;
};
TaskData load_task_data(const TaskSpec& task);

struct PreparedPrompt {
  std::string text;             // the prompt as text (for results files)
  std::vector<int64_t> ids;     // what the decoder is given
};

class TaskPrompts {
 public:
  TaskPrompts(const TaskSpec& task, const TaskData& data, const Tokenizer& tokenizer);

  const std::vector<PreparedPrompt>& prompts() const { return prompts_; }
  // Tokens to generate: the task's gen_length, or the longest reference (plus [EOS]) in the plain
  // format, or Dream's settings (Sudoku 24, Countdown 32) in the few-shot format.
  int64_t gen_length() const { return gen_length_; }
  // Generated ids of example `index` -> the prediction text the scorer reads.
  std::string prediction(size_t index, const std::vector<int64_t>& generated) const;

 private:
  const TaskSpec& task_;
  const TaskData& data_;
  const Tokenizer& tokenizer_;
  std::vector<PreparedPrompt> prompts_;
  int64_t gen_length_ = 0;
};

}  // namespace stepwise::runner
