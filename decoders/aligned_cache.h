// Re-aligning the rows of running batches: a new KV cache whose rows end together, made from key /
// value spans that sit at different places in other caches. Row i's span of n_i slots lands at
// [L - n_i, L) with L the longest span; the slots before it are padding, hidden by a key-valid mask.
// Keys carry their RoPE positions, so moving a span leaves its values intact (queries then take each
// row's own positions).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/tensor/kv_cache.h"

namespace stepwise {

class Transformer;

// Slots [end - length, end) of row `row` of `cache`.
struct CacheSpan {
  const KvCache* cache = nullptr;
  int64_t row = 0;
  int64_t end = 0;
  int64_t length = 0;
};

struct AlignedCache {
  KvCache cache;           // (B, ..., L + room)
  torch::Tensor key_valid;  // (B, L + room) bool on the model's device; undefined when no row is padded
  int64_t length = 0;       // L
};

// A cache of spans.size() rows (at least one) ending at slot L - 1, with `room` free slots after L.
AlignedCache align_rows(const Transformer& model, const std::vector<CacheSpan>& spans, int64_t room);

}  // namespace stepwise
