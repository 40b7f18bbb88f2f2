// Preallocated per-layer key/value storage for incremental decoding, and the one owner of how many
// token slots are valid. A forward's write of slots [start, start + T) into a layer extends that
// layer's valid range to max(length, start + T); decoders then keep or drop tokens (keep, drop_last,
// clear) and move per-row spans in and out for prefix reuse. The cache never infers its length from
// data. All batch rows share one length; ragged prompts are handled by left padding plus a key-padding
// mask. It does not know what the slots hold (prompt, drafts, canvas): its callers do.
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
  // Token slots [0, length()) hold valid keys and values in every layer.
  int64_t length() const;

  // Stores k, v (B, H_kv, T, D) at token slots [start, start + T) of `layer`, extends that layer's valid
  // range to max(length, start + T) and returns views of its keys and values over that range, each
  // (B, H_kv, S, D). Every layer of one forward writes the same slots, so after the last layer's write
  // length() covers them.
  std::pair<torch::Tensor, torch::Tensor> write(int64_t layer, int64_t start, const torch::Tensor& k,
                                                const torch::Tensor& v);

  // Keeps at most the first `count` tokens (a no-op when the cache holds fewer).
  void keep(int64_t count);
  // Drops the last `count` tokens (0 <= count <= length()), e.g. rejected speculative drafts.
  void drop_last(int64_t count);
  // Drops every token; the storage stays allocated.
  void clear() { keep(0); }

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
  std::vector<int64_t> lengths_;       // per layer: valid token slots [0, lengths_[layer])
  int64_t batch_;
  int64_t capacity_;
};

}  // namespace stepwise
