// Which examples form the batch of each training step. The data set is shuffled once per epoch
// with a permutation seeded from (run seed, epoch); batches are consecutive slices of the endless
// stream of epoch permutations, so a batch may straddle two epochs and never drops examples. The
// batch of step s depends only on (seed, s): resuming needs no saved sampler state.
#pragma once

#include <cstdint>
#include <vector>

namespace stepwise::training {

class BatchSchedule {
 public:
  // Throws stepwise::Error unless dataset_size > 0 and batch_size > 0.
  BatchSchedule(int64_t dataset_size, int64_t batch_size, uint64_t seed);

  // Data set indices of the batch of `step` (0-based), batch_size of them.
  std::vector<int64_t> indices_for_step(int64_t step);
  // The shuffled order of `epoch`: a permutation of 0..dataset_size-1.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  int64_t dataset_size() const { return dataset_size_; }
  int64_t batch_size() const { return batch_size_; }

 private:
  int64_t dataset_size_;
  int64_t batch_size_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;  // epoch_order(cached_epoch_)
};

}  // namespace stepwise::training
