// Plain-format training data, objectives and batched decoding for the synthetic tasks.
#include "experiments/training/plain_task_training.h"

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/tasks/plain_format.h"

namespace stepwise::task_training {

std::vector<training::TrainingExample> encode_examples(const std::vector<tasks::TaskRecord>& records) {
  CharTokenizer chars;
  std::vector<training::TrainingExample> examples;
  examples.reserve(records.size());
  for (const auto& record : records) {
    tasks::PlainEncoding encoding = tasks::encode_plain(record, chars);
    examples.push_back({std::move(encoding.source_ids), std::move(encoding.target_ids)});
  }
  return examples;
}

double mgdm_gamma_for(tasks::TaskKind task) {
  return task == tasks::TaskKind::kCountdown ? training::kMgdmGammaCountdown : training::kMgdmGammaDefault;
}

training::ObjectiveOptions plain_objective(const std::string& name, tasks::TaskKind task, const std::string& form,
                                           int64_t timesteps, bool shift_logits) {
  check(form == "paper" || form == "llada", "diffusion form: expected paper or llada, got '", form, "'");
  training::ObjectiveOptions objective;
  if (name == "mgdm") {
    check(form == "paper", "the mgdm objective is the study's paper form; it cannot use the ", form, " form");
    objective.kind = training::ObjectiveKind::kDiffusion;
    objective.diffusion = training::mgdm_diffusion_options(mgdm_gamma_for(task));
  } else {
    objective.kind = training::parse_objective_kind(name);
    objective.diffusion = form == "llada" ? training::llada_diffusion_options() : training::paper_diffusion_options();
  }
  objective.diffusion.timesteps = timesteps;
  objective.diffusion.mask_token_id = CharTokenizer::kMask;
  objective.diffusion.shift_logits = shift_logits;
  return objective;
}

std::vector<std::string> decode_inputs(Decoder& decoder, tasks::TaskKind kind,
                                       const std::vector<tasks::TaskRecord>& records, int64_t gen_length,
                                       int64_t batch_size, int64_t* forward_calls) {
  check(batch_size >= 1, "batch size must be >= 1, got ", batch_size);
  CharTokenizer chars;
  std::vector<std::string> predictions;
  predictions.reserve(records.size());
  const auto batch = static_cast<size_t>(batch_size);
  for (size_t begin = 0; begin < records.size(); begin += batch) {
    DecodeRequest request;
    request.max_new_tokens = gen_length;
    for (size_t i = begin; i < std::min(records.size(), begin + batch); ++i)
      request.prompts.push_back(tasks::encode_plain_source(records[i].input, chars));
    DecodeResult result = decoder.decode(request);
    if (forward_calls) *forward_calls += result.stats.forward_calls;
    for (size_t row = 0; row < result.tokens.size(); ++row)
      predictions.push_back(tasks::restore_answer_layout(kind, records[begin + row].input,
                                                         tasks::decode_plain(result.tokens[row], chars)));
  }
  return predictions;
}

}  // namespace stepwise::task_training
