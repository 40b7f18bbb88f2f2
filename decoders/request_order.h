// The order in which pending requests are decoded, batch by batch. All requests are taken as arriving
// together; first-in-first-out decodes them in arrival order, shortest-prefill-first picks, before
// every batch, the requests with the fewest prompt tokens left to prefill after reuse
// (Decoder::prefill_tokens, which sees what earlier batches stored), ties in arrival order. Short
// prefills first lowers the mean time to first token; the order never changes any request's output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/latency_summary.h"  // LatencySummary, summarize_latencies: how orders are judged
#include "decoders/decoder.h"

namespace stepwise {

enum class RequestOrder { kFifo, kShortestPrefillFirst };

std::string to_string(RequestOrder order);  // "fifo" | "shortest_prefill_first"
// Throws stepwise::Error naming the accepted values.
RequestOrder parse_request_order(const std::string& name);

// Up to `batch_size` entries of `pending` (indices into `prompts`, in arrival order) for the next batch.
std::vector<size_t> next_batch(RequestOrder order, const Decoder& decoder,
                               const std::vector<std::vector<int64_t>>& prompts, const std::vector<size_t>& pending,
                               size_t batch_size);

}  // namespace stepwise
