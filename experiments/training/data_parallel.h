// What the trainer needs from data-parallel training, whatever carries it (distributed.h: c10d Gloo):
// this process's rank in a group of world_size processes, a sum over the ranks and a broadcast from
// rank 0. Every rank builds the same global batch (and its diffusion noise) from (seed, step), trains
// on its slice of rows and the gradients are summed: the objectives' weights already divide by the
// global batch's scored positions (loss_inputs.h), so the sum of the slices' gradients is the global
// batch's gradient, and every rank takes the same optimizer step as one process with the whole batch.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "experiments/training/loss_inputs.h"

namespace stepwise::training {

class DataParallelGroup {
 public:
  virtual ~DataParallelGroup() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  // Replaces every tensor (CPU, floating point) by its sum over the ranks. Throws stepwise::Error when a rank is
  // gone (killed, crashed) or does not answer within the group's timeout.
  virtual void all_reduce_sum(const std::vector<torch::Tensor>& tensors) = 0;
  // Replaces every tensor by rank 0's. Throws as all_reduce_sum.
  virtual void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors) = 0;
};

// Rows [first, second) of a global batch of `rows` that `rank` of `world_size` trains on: contiguous,
// sizes differing by at most one.
std::pair<int64_t, int64_t> rows_of_rank(int64_t rows, int64_t rank, int64_t world_size);

// `inputs` restricted to rows [begin, end) (tokens, positions, labels, weights, key padding).
LossInputs slice_rows(const LossInputs& inputs, int64_t begin, int64_t end);

}  // namespace stepwise::training
