// Continuous batching, the interface the server drives: requests join one running batch between its
// steps and leave it as they finish, every row decoded exactly as its request would be decoded alone.
// Implemented by the AR decoder's batch (ar_running_batch.h: one token per row and step) and the
// speculative decoder's (speculative_running_batch.h: one draft / verify round per row and step).
// Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "decoders/decoder.h"

namespace stepwise {

class RunningBatch {
 public:
  virtual ~RunningBatch() = default;

  // Admits `request` (its rows are observed by request.observer, StepCommit::row being the row's index
  // within the request) and returns its id. Its prefill runs here, and its first tokens are chosen and
  // reported. stepwise::Error, with the batch unchanged, for a request the decoder's decode() refuses.
  virtual int64_t add(const DecodeRequest& request) = 0;

  // One forward of every running row and what follows from it; rows that end leave the batch. A no-op
  // without rows.
  virtual void step() = 0;

  // The requests whose every row ended since the last call, each with the DecodeResult the decoder's
  // decode() would have returned for it alone (tokens, commit steps, forward calls; times from its
  // add()); details also hold `peak_batch_rows`, the most rows of any forward it took part in.
  virtual std::vector<std::pair<int64_t, DecodeResult>> take_finished() = 0;

  // Rows running now.
  virtual int64_t rows() const = 0;
};

// The running batch of `decoder` (which must outlive it): an ArRunningBatch for an AR decoder with the
// KV cache, a SpeculativeRunningBatch for a speculative decoder; null for a decoder that only decodes
// whole calls (diffusion, AR without the cache).
std::unique_ptr<RunningBatch> start_running_batch(const Decoder& decoder);

}  // namespace stepwise
