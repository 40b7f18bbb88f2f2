// Continuous batching for AR decoding: requests join and leave one running batch between decode steps.
// A request joins with add(): it is checked and prefilled exactly as ArDecoder::decode would prefill it
// alone (through the decoder's prefix store when it has one), its rows' first tokens are chosen and
// reported, and the rows that go on have their keys and values placed into the batch's cache. Every
// step() feeds each row its last token (one forward of all rows) and chooses its next one; a row that
// meets a stop token, its request's max_new_tokens or its observer's kCancelRow leaves the batch at once.
//
// Layout: all rows share one cache length L and end at slot L - 1; row r's n_r tokens (prompt and tokens
// fed so far) sit at slots [L - n_r, L), with left padding before them hidden by a key-padding mask. A
// row longer than L shifts the others right; a row leaving trims the leading columns that are padding for
// every remaining row. Keys carry their RoPE positions, so moving a row's slots leaves its values intact;
// queries get per-row positions (n_r). Sampled rows keep their own generator, seeded as the request alone,
// so every row's tokens equal its request decoded alone whatever joins or leaves around it.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/tensor/kv_cache.h"
#include "decoders/decoder.h"
#include "decoders/running_batch.h"
#include "decoders/stop_tokens.h"

namespace stepwise {

class ArDecoder;

class ArRunningBatch : public RunningBatch {
 public:
  // `decoder` (with use_cache) must outlive the batch; its model, settings and prefix store are used.
  explicit ArRunningBatch(const ArDecoder& decoder);
  ~ArRunningBatch() override;
  ArRunningBatch(const ArRunningBatch&) = delete;
  ArRunningBatch& operator=(const ArRunningBatch&) = delete;

  // Admits `request`: its prompts become rows seeded with request.seeds and observed by request.observer
  // (StepCommit::row is the row's index within the request). Returns the request's id. The first token of
  // every row is chosen and reported here. stepwise::Error, with the batch unchanged, for a request
  // ArDecoder::decode refuses.
  int64_t add(const DecodeRequest& request) override;

  // One forward of every running row, then each row's next token chosen and reported; rows that end
  // leave the batch. A no-op without rows.
  void step() override;

  // The requests whose every row ended since the last call, each with the DecodeResult ArDecoder::decode
  // would have returned for it alone (tokens, commit steps, forward calls; times measured from its add);
  // details also hold `peak_batch_rows`, the most rows of any forward it took part in.
  std::vector<std::pair<int64_t, DecodeResult>> take_finished() override;

  int64_t rows() const override { return static_cast<int64_t>(rows_.size()); }
  // L: the cache slots every row spans (its tokens plus its left padding).
  int64_t width() const { return length_; }

 private:
  struct Member;  // one admitted request
  struct Row {
    Member* member = nullptr;
    size_t index = 0;        // row within its request
    int64_t cached = 0;      // tokens whose keys and values the cache holds (prompt and tokens fed)
    int64_t next_token = 0;  // chosen, fed at the next step
    std::optional<at::Generator> generator;  // sampled decoding only
  };
  // Where a row's keys and values are now: slots [end - row.cached, end) of `cache`'s row `row`.
  struct Source {
    const KvCache* cache = nullptr;
    int64_t row = 0;
    int64_t end = 0;
  };

  // add() after its checks: prefills `request`, chooses its first tokens and places the rows that go on.
  void admit(Member& member, const DecodeRequest& request);
  // Appends `token` to row `index` of `member` and reports it; false when the row ends with it.
  bool record(Member& member, size_t index, int64_t token);
  // Makes `rows` (their keys and values at `sources`) the batch: a new cache aligned at their longest
  // row, with room for every row's remaining tokens, and the key-padding mask.
  void place(std::vector<Row> rows, const std::vector<Source>& sources);
  void finish(Member& member);

  const ArDecoder& decoder_;
  StopTokens stop_;
  int64_t pad_id_;
  std::vector<Row> rows_;                  // the batch's rows, in cache row order
  std::optional<KvCache> cache_;           // (B, ..., capacity) once there are rows
  torch::Tensor key_valid_;                // (B, capacity) bool; undefined when no row is padded
  int64_t length_ = 0;                     // L
  int64_t steps_ = 0;                      // step() calls so far
  int64_t next_id_ = 0;
  std::map<int64_t, std::unique_ptr<Member>> members_;        // admitted, not finished
  std::vector<std::pair<int64_t, DecodeResult>> finished_;   // not yet taken
};

}  // namespace stepwise
