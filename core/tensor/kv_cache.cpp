// Preallocated KV cache that owns its valid length.
#include "core/tensor/kv_cache.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace stepwise {

KvCache::KvCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t capacity, int64_t head_dim,
                 torch::TensorOptions options)
    : batch_(batch), capacity_(capacity) {
  TORCH_INTERNAL_ASSERT(num_layers > 0 && batch > 0 && num_kv_heads > 0 && capacity > 0 && head_dim > 0);
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    keys_.push_back(torch::zeros({batch, num_kv_heads, capacity, head_dim}, options));
    values_.push_back(torch::zeros({batch, num_kv_heads, capacity, head_dim}, options));
  }
  lengths_.assign(static_cast<size_t>(num_layers), 0);
}

int64_t KvCache::length() const { return *std::min_element(lengths_.begin(), lengths_.end()); }

std::pair<torch::Tensor, torch::Tensor> KvCache::write(int64_t layer, int64_t start, const torch::Tensor& k,
                                                       const torch::Tensor& v) {
  TORCH_INTERNAL_ASSERT(layer >= 0 && layer < num_layers());
  const int64_t count = k.size(2);
  check(start >= 0 && start + count <= capacity_, "KV cache overflow: writing slots [", start, ", ", start + count,
        ") but the cache holds ", capacity_, " tokens (raise max tokens)");
  TORCH_INTERNAL_ASSERT(k.size(0) == batch_ && v.sizes() == k.sizes());
  keys_[layer].narrow(2, start, count).copy_(k);
  values_[layer].narrow(2, start, count).copy_(v);
  int64_t& end = lengths_[static_cast<size_t>(layer)];
  end = std::max(end, start + count);
  return {keys_[layer].narrow(2, 0, end), values_[layer].narrow(2, 0, end)};
}

void KvCache::keep(int64_t count) {
  TORCH_INTERNAL_ASSERT(count >= 0, "keep(", count, ")");
  for (int64_t& end : lengths_) end = std::min(end, count);
}

void KvCache::drop_last(int64_t count) {
  const int64_t valid = length();
  TORCH_INTERNAL_ASSERT(count >= 0 && count <= valid, "drop_last(", count, ") from ", valid, " tokens");
  keep(valid - count);
}

void KvCache::load_prefix(const torch::Tensor& keys, const torch::Tensor& values) {
  TORCH_INTERNAL_ASSERT(keys.dim() == 5 && keys.size(0) == num_layers() && keys.sizes() == values.sizes());
  const int64_t n = keys.size(3);
  check(n <= capacity_, "KV cache overflow: loading a prefix of ", n, " tokens into a cache of ", capacity_);
  for (int64_t layer = 0; layer < num_layers(); ++layer) {
    keys_[layer].narrow(2, 0, n).copy_(keys[layer]);
    values_[layer].narrow(2, 0, n).copy_(values[layer]);
  }
  lengths_.assign(lengths_.size(), n);
}

std::pair<torch::Tensor, torch::Tensor> KvCache::copy_row_span(int64_t row, int64_t start, int64_t n) const {
  TORCH_INTERNAL_ASSERT(row >= 0 && row < batch_ && start >= 0 && n >= 0 && start + n <= capacity_);
  std::vector<torch::Tensor> ks, vs;
  for (size_t layer = 0; layer < keys_.size(); ++layer) {
    ks.push_back(keys_[layer][row].narrow(1, start, n));    // (H_kv, n, D)
    vs.push_back(values_[layer][row].narrow(1, start, n));  // (H_kv, n, D)
  }
  return {torch::stack(ks), torch::stack(vs)};
}

void KvCache::load_row_span(int64_t row, int64_t start, const torch::Tensor& keys, const torch::Tensor& values) {
  TORCH_INTERNAL_ASSERT(keys.dim() == 4 && keys.size(0) == num_layers() && keys.sizes() == values.sizes());
  const int64_t n = keys.size(2);
  TORCH_INTERNAL_ASSERT(row >= 0 && row < batch_ && start >= 0);
  check(start + n <= capacity_, "KV cache overflow: loading slots [", start, ", ", start + n, ") into a cache of ",
        capacity_);
  for (int64_t layer = 0; layer < num_layers(); ++layer) {
    keys_[layer][row].narrow(1, start, n).copy_(keys[layer]);
    values_[layer][row].narrow(1, start, n).copy_(values[layer]);
  }
}

torch::Tensor KvCache::keys(int64_t layer) const { return keys_.at(layer).narrow(2, 0, length()); }
torch::Tensor KvCache::values(int64_t layer) const { return values_.at(layer).narrow(2, 0, length()); }

}  // namespace stepwise
