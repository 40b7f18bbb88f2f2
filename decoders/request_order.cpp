// Batch selection for FIFO and shortest-prefill-first.
#include "decoders/request_order.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace stepwise {

std::string to_string(RequestOrder order) {
  return order == RequestOrder::kFifo ? "fifo" : "shortest_prefill_first";
}

RequestOrder parse_request_order(const std::string& name) {
  if (name == "fifo") return RequestOrder::kFifo;
  if (name == "shortest_prefill_first") return RequestOrder::kShortestPrefillFirst;
  throw Error("unknown request order '" + name + "' (expected fifo or shortest_prefill_first)");
}

std::vector<size_t> next_batch(RequestOrder order, const Decoder& decoder,
                               const std::vector<std::vector<int64_t>>& prompts, const std::vector<size_t>& pending,
                               size_t batch_size) {
  const size_t count = std::min(batch_size, pending.size());
  if (order == RequestOrder::kFifo) return {pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(count)};
  std::vector<std::pair<int64_t, size_t>> cost;  // (prefill tokens, position in pending)
  cost.reserve(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) cost.emplace_back(decoder.prefill_tokens(prompts.at(pending[i])), i);
  std::partial_sort(cost.begin(), cost.begin() + static_cast<std::ptrdiff_t>(count), cost.end());
  std::vector<size_t> chosen;
  for (size_t i = 0; i < count; ++i) chosen.push_back(pending[cost[i].second]);
  return chosen;
}

}  // namespace stepwise
