// One stored stretch of keys and values: what the prefix store holds per entry.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace stepwise {

struct KvBlock {
  torch::Tensor keys;    // (L, H_kv, n, D) contiguous, CPU, the model's dtype
  torch::Tensor values;  // (L, H_kv, n, D)

  int64_t tokens() const { return keys.size(2); }
  int64_t bytes() const { return static_cast<int64_t>(keys.nbytes() + values.nbytes()); }
};

}  // namespace stepwise
