// Continuous batching for speculative decoding: requests join and leave one running batch between
// rounds, and every round verifies the drafts of all rows in one target forward.
//
// A request joins with add(): it is checked and prefilled exactly as SpeculativeDecoder::decode would
// prefill it alone (one row, through the decoder's prefix store when it has one) and its first token is
// chosen and reported; a row that goes on gets its keys and values placed into the batch's cache. Every
// step() is one round: each row drafts from its own draft source (a draft model keeps a KV cache per
// row), the target scores [last, d_1..d_k_r] of every row in one forward (rows with fewer drafts padded
// at their end, which no real query sees under the causal mask), and each row accepts its own prefix.
//
// Layout: as the AR running batch (ar_running_batch.h): all rows end at slot L - 1, row r's cached
// tokens (its context but the last) at [L - n_r, L), left padding hidden by a key-padding mask. A round
// writes slots [L, L + 1 + K), K the most drafts of any row; when every row accepted the same number a,
// the batch just keeps L + 1 + a slots, otherwise (or when a row leaves) the rows are copied into a
// cache aligned at the longest one (aligned_cache.h). Each row keeps its own generator, seeded as its
// request alone, so its tokens equal its request decoded alone whatever runs beside it.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/tensor/kv_cache.h"
#include "decoders/aligned_cache.h"
#include "decoders/running_batch.h"

namespace stepwise {

class SpeculativeDecoder;
class SpeculativeSequence;

class SpeculativeRunningBatch : public RunningBatch {
 public:
  // `decoder` must outlive the batch; its target, settings, draft kind and prefix store are used.
  explicit SpeculativeRunningBatch(const SpeculativeDecoder& decoder);
  ~SpeculativeRunningBatch() override;
  SpeculativeRunningBatch(const SpeculativeRunningBatch&) = delete;
  SpeculativeRunningBatch& operator=(const SpeculativeRunningBatch&) = delete;

  // One prompt per request, as SpeculativeDecoder::decode takes.
  int64_t add(const DecodeRequest& request) override;
  // One draft / verify round of every running row.
  void step() override;
  std::vector<std::pair<int64_t, DecodeResult>> take_finished() override;
  int64_t rows() const override { return static_cast<int64_t>(rows_.size()); }
  // L: the cache slots every row spans (its cached tokens plus its left padding).
  int64_t width() const { return length_; }

 private:
  struct Row;  // one admitted request (one sequence)

  // Makes `rows` the batch, their keys and values taken from `spans` (one per row).
  void place(std::vector<Row*> rows, const std::vector<CacheSpan>& spans);
  void finish(Row& row);

  const SpeculativeDecoder& decoder_;
  std::vector<Row*> rows_;                  // running, in cache row order
  std::optional<KvCache> cache_;            // (B, ..., capacity) once there are rows
  torch::Tensor key_valid_;                 // (B, capacity) bool; undefined when no row is padded
  int64_t length_ = 0;                      // L
  int64_t next_id_ = 0;
  std::map<int64_t, std::unique_ptr<Row>> members_;          // admitted, not finished
  std::vector<std::pair<int64_t, DecodeResult>> finished_;  // not yet taken
};

}  // namespace stepwise
