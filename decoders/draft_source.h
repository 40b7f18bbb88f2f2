// Where speculative decoding gets its guesses. A draft source sees the whole context (prompt plus
// accepted output), proposes up to k tokens, and is told after verification how much of the context
// is final so a model draft can roll its KV cache back. It does not verify or accept anything.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor/sampling_params.h"
#include "decoders/draft_spec.h"

namespace stepwise {

struct Draft {
  std::vector<int64_t> tokens;  // k proposed tokens (k may be below the request, even 0)
  torch::Tensor probs;          // (k, V) float32 draft distributions q; undefined = point masses
};

class DraftSource {
 public:
  virtual ~DraftSource() = default;

  // Starts a new sequence whose context will never exceed `capacity` tokens; resets the counters.
  virtual void begin(int64_t capacity) = 0;
  // Up to `count` tokens continuing `context`. Sampled (non-greedy) model drafts draw from q with
  // `generator` and return q; greedy model drafts take q's argmax.
  virtual Draft propose(const std::vector<int64_t>& context, int64_t count, const SamplingParams& sampling,
                        at::Generator& generator) = 0;
  // The first `length` context tokens are final; anything proposed after them was rejected.
  virtual void rollback(int64_t length) = 0;

  // The vocabulary the proposals come from, when the source has one (a model).
  virtual std::optional<int64_t> vocab_size() const = 0;
  virtual std::string describe() const = 0;

  int64_t forward_calls() const { return forward_calls_; }
  double seconds() const { return seconds_; }

 protected:
  int64_t forward_calls_ = 0;  // draft model forwards since begin()
  double seconds_ = 0.0;       // time spent in propose() since begin()
};

std::unique_ptr<DraftSource> make_draft_source(const DraftSpec& spec);

}  // namespace stepwise
