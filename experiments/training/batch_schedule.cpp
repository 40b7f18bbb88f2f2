// Seeded per-epoch shuffling (torch::randperm with an explicit generator).
#include "experiments/training/batch_schedule.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "experiments/training/seed_streams.h"

namespace stepwise::training {

BatchSchedule::BatchSchedule(int64_t dataset_size, int64_t batch_size, uint64_t seed)
    : dataset_size_(dataset_size), batch_size_(batch_size), seed_(seed) {
  check(dataset_size > 0, "the training set is empty");
  check(batch_size > 0, "batch size must be positive, got ", batch_size);
}

std::vector<int64_t> BatchSchedule::epoch_order(int64_t epoch) const {
  at::Generator generator = make_generator(derive_seed(seed_, SeedStream::kBatchOrder, static_cast<uint64_t>(epoch)));
  torch::Tensor order = torch::randperm(dataset_size_, generator, torch::TensorOptions().dtype(torch::kInt64));
  return std::vector<int64_t>(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + dataset_size_);
}

std::vector<int64_t> BatchSchedule::indices_for_step(int64_t step) {
  check(step >= 0, "training step must be non-negative, got ", step);
  std::vector<int64_t> indices;
  indices.reserve(static_cast<size_t>(batch_size_));
  int64_t position = step * batch_size_;  // in the stream of concatenated epoch orders
  while (static_cast<int64_t>(indices.size()) < batch_size_) {
    const int64_t epoch = position / dataset_size_;
    if (epoch != cached_epoch_) {
      cached_order_ = epoch_order(epoch);
      cached_epoch_ = epoch;
    }
    indices.push_back(cached_order_[static_cast<size_t>(position % dataset_size_)]);
    ++position;
  }
  return indices;
}

}  // namespace stepwise::training
