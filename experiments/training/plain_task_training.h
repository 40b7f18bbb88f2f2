// What training on the synthetic tasks needs in both places that do it (`stepwise train` and the
// runner's `train:` blocks): task records as plain-format training examples over the character
// vocabulary, the training objective in that vocabulary, and decoding task inputs with a real decoder
// for validation and evaluation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decoders/decoder.h"
#include "experiments/tasks/task_kind.h"
#include "experiments/tasks/task_record.h"
#include "experiments/training/objective_options.h"
#include "experiments/training/training_batch.h"

namespace stepwise::task_training {

// "source [SEP]" -> "target [EOS]" pairs, one per record.
std::vector<training::TrainingExample> encode_examples(const std::vector<tasks::TaskRecord>& records);

// The objective named `name`: "ar", "diffusion" (the `form` "paper" | "llada" with its defaults) or
// "mgdm" (the study's MGDM preset: paper form, linear time weight T - t, token reweighting with
// alpha 0.25 and gamma 2 for Countdown, 1 for the other tasks, as in the study's scripts), with
// `timesteps`, the character vocabulary's mask token and Dream's logit shift when `shift_logits`.
training::ObjectiveOptions plain_objective(const std::string& name, tasks::TaskKind task, const std::string& form,
                                           int64_t timesteps, bool shift_logits);
// The study's gamma for `task`: 2 for Countdown, 1 otherwise.
double mgdm_gamma_for(tasks::TaskKind task);

// Decodes every record's input (plain format) with `decoder`, `batch_size` at a time, generating
// `gen_length` tokens; returns the answers in record order (decode_plain, then the layout step
// restore_answer_layout for `kind`) and adds the NFE to `forward_calls`.
std::vector<std::string> decode_inputs(Decoder& decoder, tasks::TaskKind kind,
                                       const std::vector<tasks::TaskRecord>& records, int64_t gen_length,
                                       int64_t batch_size, int64_t* forward_calls = nullptr);

}  // namespace stepwise::task_training
