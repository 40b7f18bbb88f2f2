// The pieces of autoregressive decoding shared by the one-call AR decoder (ar_decoder.h) and the running
// batch that requests join and leave between steps (ar_running_batch.h): the request checks, the token
// fed for padding, the prefill and per-token forwards of one left-padded batch (ArRun), and the choice of
// every row's next token (greedy, or a draw from the row's own generator).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor/kv_cache.h"
#include "core/tensor/sampling_params.h"
#include "decoders/batch.h"
#include "decoders/decoder.h"
#include "models/transformer_config.h"

namespace stepwise {

class PrefixReuse;
class Transformer;

// Token fed for left padding and for rows that already stopped: pad_token_id, else the first eos id, else 0.
int64_t pad_id_of(const TransformerConfig& config);

// stepwise::Error naming the problem unless `request` can be decoded: max_new_tokens >= 0, one seed per
// prompt (or none), non-empty prompts of in-vocabulary ids that leave room for max_new_tokens within the
// model's positions, and (with several prompts) an in-vocabulary pad token.
void check_ar_request(const TransformerConfig& config, const DecodeRequest& request);

// Next token per row of logits (B, V): the argmax when sampling is greedy, else one draw from
// generators[r]; rows with active[r] false get pad_id and draw nothing.
std::vector<int64_t> choose_next_tokens(const torch::Tensor& logits, const SamplingParams& sampling,
                                        std::vector<at::Generator>& generators, const std::vector<bool>& active,
                                        int64_t pad_id);

// The per-call state of one left-padded batch: cache (or the growing sequence without one) and the key mask.
class ArRun {
 public:
  ArRun(const Transformer& model, const PaddedBatch& batch, int64_t max_new_tokens, bool use_cache);

  // Logits (B, V) for the token after each prompt.
  torch::Tensor prefill();

  // The same with the stored prefixes of `prompts` loaded first: only slots [start, width) are fed,
  // where start is the earliest slot any row has not loaded. Stores the chunks computed here.
  torch::Tensor prefill_reusing(const PrefixReuse& reuse, const std::vector<std::vector<int64_t>>& prompts);
  int64_t reused_tokens() const { return reused_tokens_; }

  // Appends `tokens` (B) and returns the logits (B, V) for the token after them.
  torch::Tensor decode_one_token(const torch::Tensor& tokens);

  // The cache (with use_cache): row r's prompt at slots [width - prompts[r].size(), width), then one slot
  // per token fed back.
  const KvCache& cache() const { return *cache_; }
  int64_t width() const { return width_; }

 private:
  // input, positions (B, T): T = 1 with a cache after the prefill, the whole sequence without one.
  // With a cache the inputs occupy slots [write_start, write_start + T) (default: the cache's length).
  torch::Tensor step(const torch::Tensor& input, const torch::Tensor& positions,
                     std::optional<int64_t> write_start = std::nullopt);

  const Transformer& model_;
  int64_t width_;
  torch::Tensor tokens_;         // (B, T) prompt, plus generated tokens without a cache
  torch::Tensor positions_;      // (B, T) positions of tokens_
  torch::Tensor key_valid_;      // (B, width + max_new) bool; undefined when no row is padded
  torch::Tensor next_position_;  // (B, 1) position of each row's first generated token
  std::optional<KvCache> cache_;
  int64_t generated_ = 0;       // tokens fed back so far
  int64_t reused_tokens_ = 0;   // prompt tokens loaded from the prefix store, summed over rows
};

}  // namespace stepwise
