// Row slices of a global batch for data-parallel training.
#include "experiments/training/data_parallel.h"

#include <torch/torch.h>

namespace stepwise::training {

std::pair<int64_t, int64_t> rows_of_rank(int64_t rows, int64_t rank, int64_t world_size) {
  return {rows * rank / world_size, rows * (rank + 1) / world_size};
}

LossInputs slice_rows(const LossInputs& inputs, int64_t begin, int64_t end) {
  LossInputs slice = inputs;
  slice.tokens = inputs.tokens.slice(0, begin, end);
  slice.positions = inputs.positions.slice(0, begin, end);
  slice.labels = inputs.labels.slice(0, begin, end);
  slice.weights = inputs.weights.slice(0, begin, end);
  if (inputs.attention.key_padding) slice.attention.key_padding = inputs.attention.key_padding->slice(0, begin, end);
  return slice;
}

}  // namespace stepwise::training
