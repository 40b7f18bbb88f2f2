// Right-padded training batches with key-padding and target masks.
#include "experiments/training/training_batch.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace stepwise::training {

TrainingBatch make_training_batch(const std::vector<TrainingExample>& examples, const std::vector<int64_t>& indices,
                                  int64_t pad_id) {
  check(!indices.empty(), "a training batch needs at least one example");
  int64_t width = 0;
  for (int64_t index : indices) {
    check(index >= 0 && index < static_cast<int64_t>(examples.size()), "training example index ", index,
          " is outside the data set of ", examples.size());
    const TrainingExample& example = examples[static_cast<size_t>(index)];
    check(!example.target_ids.empty(), "training example ", index, " has an empty target");
    width = std::max<int64_t>(width, static_cast<int64_t>(example.source_ids.size() + example.target_ids.size()));
  }
  const int64_t rows = static_cast<int64_t>(indices.size());
  std::vector<int64_t> tokens(static_cast<size_t>(rows * width), pad_id);
  std::vector<uint8_t> real(tokens.size(), 0), target(tokens.size(), 0);
  for (int64_t row = 0; row < rows; ++row) {
    const TrainingExample& example = examples[static_cast<size_t>(indices[static_cast<size_t>(row)])];
    size_t at = static_cast<size_t>(row * width);
    for (int64_t id : example.source_ids) {
      tokens[at] = id;
      real[at++] = 1;
    }
    for (int64_t id : example.target_ids) {
      tokens[at] = id;
      real[at] = 1;
      target[at++] = 1;
    }
  }
  TrainingBatch batch;
  batch.tokens = torch::tensor(tokens, torch::kInt64).view({rows, width});
  batch.positions = torch::arange(width, torch::kInt64).unsqueeze(0).expand({rows, width}).contiguous();
  batch.real = torch::tensor(real, torch::kUInt8).view({rows, width}).to(torch::kBool);
  batch.target_mask = torch::tensor(target, torch::kUInt8).view({rows, width}).to(torch::kBool);
  return batch;
}

std::vector<TrainingExample> pad_targets(std::vector<TrainingExample> examples, int64_t length, int64_t fill_id) {
  for (size_t i = 0; i < examples.size(); ++i) {
    std::vector<int64_t>& target = examples[i].target_ids;
    check(static_cast<int64_t>(target.size()) <= length, "training example ", i, " has a target of ", target.size(),
          " tokens, longer than the fixed target length ", length);
    target.resize(static_cast<size_t>(length), fill_id);
  }
  return examples;
}

int64_t max_target_length(const std::vector<TrainingExample>& examples) {
  int64_t longest = 0;
  for (const auto& example : examples) longest = std::max<int64_t>(longest, example.target_ids.size());
  return longest;
}

void check_example_tokens(const std::vector<TrainingExample>& examples, int64_t pad_id, int64_t vocab_size,
                          const std::string& what) {
  auto in_vocabulary = [vocab_size](int64_t id) { return id >= 0 && id < vocab_size; };
  check(in_vocabulary(pad_id), what, ": pad id ", pad_id, " is outside the vocabulary [0, ", vocab_size, ")");
  for (size_t i = 0; i < examples.size(); ++i) {
    for (const std::vector<int64_t>* ids : {&examples[i].source_ids, &examples[i].target_ids}) {
      auto bad = std::find_if_not(ids->begin(), ids->end(), in_vocabulary);
      check(bad == ids->end(), what, ": example ", i, " holds token id ", bad == ids->end() ? 0 : *bad,
            ", outside the vocabulary [0, ", vocab_size, ")");
    }
  }
}

}  // namespace stepwise::training
