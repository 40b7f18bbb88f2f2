// Teacher-forced validation accuracy.
#include "experiments/training/validation.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "experiments/training/ar_objective.h"
#include "experiments/training/diffusion_objective.h"
#include "models/transformer.h"

namespace stepwise::training {

ValidationMetrics teacher_forced_accuracy(const Transformer& model, const std::vector<TrainingExample>& examples,
                                          const ObjectiveOptions& objective, int64_t batch_size, int64_t pad_id) {
  check(!examples.empty(), "teacher-forced validation needs at least one example");
  check(batch_size > 0, "validation batch size must be positive");
  check_example_tokens(examples, pad_id, model.config().vocab_size, "validation set");
  torch::NoGradGuard no_grad;
  int64_t tokens_right = 0, tokens_total = 0, rows_right = 0;
  const int64_t count = static_cast<int64_t>(examples.size());
  for (int64_t begin = 0; begin < count; begin += batch_size) {
    std::vector<int64_t> indices(static_cast<size_t>(std::min(batch_size, count - begin)));
    std::iota(indices.begin(), indices.end(), begin);
    const TrainingBatch batch = make_training_batch(examples, indices, pad_id);
    LossInputs inputs;
    if (objective.kind == ObjectiveKind::kAutoregressive) {
      inputs = ar_loss_inputs(batch);
    } else {
      DiffusionNoise everything;  // the whole target masked: one-shot prediction
      everything.time = torch::full({batch.batch_size()}, static_cast<double>(objective.diffusion.timesteps - 1));
      everything.rate = torch::ones({batch.batch_size()});
      everything.masked = batch.target_mask.clone();
      inputs = diffusion_loss_inputs(batch, everything, objective.diffusion);
    }
    ForwardOptions options;
    options.attention = inputs.attention;
    torch::Tensor predicted = model.forward(inputs.tokens, inputs.positions, options).argmax(-1);  // (B, T)
    torch::Tensor scored = inputs.weights != 0;                                                    // (B, T)
    torch::Tensor right = (predicted == inputs.labels) & scored;                                   // (B, T)
    tokens_right += right.sum().item<int64_t>();
    tokens_total += scored.sum().item<int64_t>();
    rows_right += (right.sum(1) == scored.sum(1)).sum().item<int64_t>();
  }
  return {{"token_accuracy", tokens_total ? static_cast<double>(tokens_right) / tokens_total : 0.0},
          {"sequence_accuracy", static_cast<double>(rows_right) / static_cast<double>(count)}};
}

ValidationHook make_teacher_forced_validation(std::vector<TrainingExample> examples, ObjectiveOptions objective,
                                              int64_t batch_size, int64_t pad_id) {
  return [examples = std::move(examples), objective, batch_size, pad_id](const Transformer& model, int64_t) {
    return teacher_forced_accuracy(model, examples, objective, batch_size, pad_id);
  };
}

}  // namespace stepwise::training
