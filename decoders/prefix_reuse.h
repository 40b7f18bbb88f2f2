// Reusing keys and values across decode calls through a PrefixStore, for one model.
//
// Causal models (AR prefill): a prompt's KV at token i depends only on tokens 0..i, so the store holds
// fixed-size chunks under chained keys (content_hash.h) and a new prompt reuses the longest run of
// stored chunks from its start; only the rest is prefilled. At least the prompt's last token is always
// computed, since its logits start the generation.
//
// Bidirectional models (diffusion): every prompt position attends to the whole canvas, so a prompt's
// KV depends on everything after it and a shared prefix alone cannot be reused exactly. What can: the
// prompt part of the first refresh of the approximate cache, which is a function of the initial canvas
// (prompt, generation length, fixed tokens). It is stored whole under a key of that canvas, so repeated
// decodes of a prompt (a sweep over steps or thresholds, several seeds) skip the prompt in that forward.
//
// Keys include the model identity (model_identity.h), dtype and layout, so KV never crosses models.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/content_hash.h"
#include "core/prefix_store/kv_block.h"
#include "core/tensor/kv_cache.h"
#include "core/prefix_store/prefix_store.h"

namespace stepwise {

class PrefixReuse {
 public:
  PrefixReuse(std::shared_ptr<PrefixStore> store, std::string model_identity, torch::ScalarType dtype);

  PrefixStore& store() const { return *store_; }
  int64_t chunk_tokens() const { return store_->chunk_tokens(); }

  // Causal prefixes.
  // Leading tokens of `prompt` whose KV the store holds and a prefill may skip: a multiple of
  // chunk_tokens, always less than the prompt's length. Does not load anything.
  int64_t cached_prefix_tokens(const std::vector<int64_t>& prompt) const;
  // Loads, per row of a left-padded batch `width` wide, the longest stored prefix into `cache` at the
  // row's real-token slots (row r's token i sits at slot width - prompts[r].size() + i). Returns the tokens loaded per row.
  std::vector<int64_t> load_prefixes(const std::vector<std::vector<int64_t>>& prompts, int64_t width,
                                     KvCache& cache) const;
  // After a prefill filled `cache`: stores every full chunk of every prompt that the store lacks.
  void store_prefixes(const std::vector<std::vector<int64_t>>& prompts, int64_t width, const KvCache& cache) const;

  // Bidirectional canvases: the key of one row's initial canvas (its prompt and generation columns,
  // padding excluded) and the prompt KV stored under it.
  Hash128 canvas_key(const std::vector<int64_t>& row_tokens) const;
  std::optional<KvBlock> find_canvas(const Hash128& key) const;
  void store_canvas(const Hash128& key, const KvBlock& prompt_kv) const;

 private:
  std::vector<Hash128> prefix_keys(const std::vector<int64_t>& prompt, int64_t max_chunks) const;

  std::shared_ptr<PrefixStore> store_;
  Hash128 causal_space_;
  Hash128 canvas_space_;
  std::map<std::string, std::string> labels_;  // disk metadata: model identity and dtype
};

}  // namespace stepwise
