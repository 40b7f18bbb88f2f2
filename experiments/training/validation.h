// Validation during training. The trainer calls an injectable ValidationHook every K steps, so a
// runner can plug in a real decoder (AR greedy, diffusion) and a task scorer. The fallback here is
// teacher-forced accuracy, which needs no decoder: AR scores the argmax of output j-1 against target
// token j given the true prefix; diffusion masks the whole target, runs one forward pass and scores
// the argmax at every target position. Both report token_accuracy and sequence_accuracy (every
// target token right); neither is the accuracy of real multi-step decoding.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "experiments/training/objective_options.h"
#include "experiments/training/training_batch.h"

namespace stepwise {
class Transformer;
}

namespace stepwise::training {

using ValidationMetrics = std::map<std::string, double>;
// Called with the model being trained (no gradients recorded) and the number of completed steps.
using ValidationHook = std::function<ValidationMetrics(const Transformer& model, int64_t step)>;

ValidationMetrics teacher_forced_accuracy(const Transformer& model, const std::vector<TrainingExample>& examples,
                                          const ObjectiveOptions& objective, int64_t batch_size, int64_t pad_id);

ValidationHook make_teacher_forced_validation(std::vector<TrainingExample> examples, ObjectiveOptions objective,
                                              int64_t batch_size, int64_t pad_id);

}  // namespace stepwise::training
