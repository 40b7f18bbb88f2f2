// Copies key / value spans into a fresh cache aligned at their longest span (aligned_cache.h).
#include "decoders/aligned_cache.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "models/transformer.h"

namespace stepwise {

AlignedCache align_rows(const Transformer& model, const std::vector<CacheSpan>& spans, int64_t room) {
  TORCH_INTERNAL_ASSERT(!spans.empty() && room >= 0);
  int64_t length = 0;
  for (const CacheSpan& span : spans) length = std::max(length, span.length);
  bool padded = false;
  for (const CacheSpan& span : spans) padded = padded || span.length != length;
  const auto count = static_cast<int64_t>(spans.size());
  const int64_t capacity = length + room;
  KvCache cache = model.make_cache(count, capacity);
  torch::Tensor key_valid;  // (B, capacity)
  if (padded) key_valid = torch::zeros({count, capacity}, torch::kBool);
  for (int64_t i = 0; i < count; ++i) {
    const CacheSpan& span = spans[static_cast<size_t>(i)];
    auto [keys, values] = span.cache->copy_row_span(span.row, span.end - span.length, span.length);
    cache.load_row_span(i, length - span.length, keys, values);
    if (padded) key_valid[i].narrow(0, length - span.length, capacity - length + span.length).fill_(true);
  }
  return AlignedCache{std::move(cache), padded ? key_valid.to(model.device()) : torch::Tensor(), length};
}

}  // namespace stepwise
