// Preallocated per-layer key/value storage for incremental decoding. The cache never infers its
// length from data: `length()` is set explicitly by the transformer (write + commit) and by decoders
// (truncate for speculative rollback and block-wise diffusion caches). All batch rows share one
// length; ragged prompts are handled by left padding plus a key-padding mask.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace stepwise {

class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t capacity, int64_t head_dim,
          torch::TensorOptions options);

  int64_t num_layers() const { return static_cast<int64_t>(keys_.size()); }
  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }

  // Stores k, v (B, H_kv, T, D) at token slots [start, start + T) of `layer` and returns views of the
  // keys and values of slots [0, max(length(), start + T)), each (B, H_kv, S, D). Does not change length().
  std::pair<torch::Tensor, torch::Tensor> write(int64_t layer, int64_t start, const torch::Tensor& k,
                                                const torch::Tensor& v);
  // Declares slots [0, new_length) valid (called once per forward after every layer wrote).
  void commit(int64_t new_length);
  // Forgets every slot from `new_length` on (new_length <= length()).
  void truncate(int64_t new_length);
  void clear() { length_ = 0; }

  // Loads keys and values (L, B, H_kv, n, D) into slots [0, n) and sets length() to n.
  void load_prefix(const torch::Tensor& keys, const torch::Tensor& values);

  // Copies of row `row`'s keys and values at slots [start, start + n) of every layer: (L, H_kv, n, D) each.
  std::pair<torch::Tensor, torch::Tensor> copy_row_span(int64_t row, int64_t start, int64_t n) const;
  // Writes keys and values (L, H_kv, n, D) into row `row`'s slots [start, start + n) of every layer.
  // Does not change length(): the next forward's write start and key range decide what is attended.
  void load_row_span(int64_t row, int64_t start, const torch::Tensor& keys, const torch::Tensor& values);

  // Views of every layer's valid keys / values, for inspection: (B, H_kv, length, D).
  torch::Tensor keys(int64_t layer) const;
  torch::Tensor values(int64_t layer) const;

 private:
  std::vector<torch::Tensor> keys_;    // per layer (B, H_kv, capacity, D)
  std::vector<torch::Tensor> values_;  // per layer (B, H_kv, capacity, D)
  int64_t batch_;
  int64_t capacity_;
  int64_t length_ = 0;
};

}  // namespace stepwise
