// Evaluation records, prompts and prediction texts.
#include "experiments/runner/task_prompts.h"

#include <algorithm>

#include "core/error.h"
#include "experiments/tasks/dream_prompt.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/record_jsonl.h"

namespace stepwise::runner {
namespace {

std::vector<tasks::TaskRecord> generate_records(const TaskSpec& task, int64_t count) {
  if (task.kind == tasks::TaskKind::kSudoku) return tasks::generate_sudoku_records(task.sudoku, count, task.seed);
  if (task.kind == tasks::TaskKind::kPathStar) return tasks::generate_pathstar_records(task.pathstar, count, task.seed);
  return tasks::generate_countdown_records(task.countdown, count, task.seed);
}

}  // namespace

TaskData load_task_data(const TaskSpec& task) {
  const int64_t shots = task.format == PromptFormat::kDreamFewShot ? tasks::kDreamFewShots : 0;
  std::vector<tasks::TaskRecord> records;
  if (task.path) {
    records = tasks::read_task_records(*task.path);
    check(static_cast<int64_t>(records.size()) > shots, *task.path, ": holds ", records.size(),
          " records; the few-shot format needs more than ", shots);
  } else {
    records = generate_records(task, task.num_examples + shots);
  }
  TaskData data;
  data.shots.assign(records.begin(), records.begin() + shots);
  const int64_t available = static_cast<int64_t>(records.size()) - shots;
  const int64_t count = std::min(available, task.num_examples);
  data.evaluation.assign(records.begin() + shots, records.begin() + shots + count);
  return data;
}

TaskPrompts::TaskPrompts(const TaskSpec& task, const TaskData& data, const Tokenizer& tokenizer)
    : task_(task), data_(data), tokenizer_(tokenizer) {
  if (task.format == PromptFormat::kPlain) {
    const auto* chars = dynamic_cast<const CharTokenizer*>(&tokenizer);
    check(chars != nullptr, "task.format plain needs a model trained on the character vocabulary (tokenizer: char)");
    int64_t longest = 0;
    for (const auto& record : data.evaluation) {
      prompts_.push_back({tasks::plain_text(record.input), tasks::encode_plain_source(record.input, *chars)});
      longest = std::max<int64_t>(longest, static_cast<int64_t>(tasks::plain_text(record.output).size()) + 1);
    }
    gen_length_ = task.gen_length.value_or(longest);
  } else {
    for (const auto& record : data.evaluation) {
      std::string text = tasks::build_dream_prompt(task.kind, data.shots, record.input);
      prompts_.push_back({text, tokenizer.encode(text)});
    }
    gen_length_ = task.gen_length.value_or(task.kind == tasks::TaskKind::kSudoku ? 24 : 32);
  }
}

std::string TaskPrompts::prediction(size_t index, const std::vector<int64_t>& generated) const {
  if (task_.format == PromptFormat::kPlain) {
    const std::string text = tasks::decode_plain(generated, static_cast<const CharTokenizer&>(tokenizer_));
    return tasks::restore_answer_layout(task_.kind, data_.evaluation.at(index).input, text);
  }
  return tasks::extract_dream_answer(task_.kind, data_.evaluation.at(index).input,
                                     tokenizer_.decode(generated, /*skip_special=*/false));
}

}  // namespace stepwise::runner
