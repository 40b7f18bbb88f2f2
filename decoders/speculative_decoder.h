// Speculative decoding: a cheap draft source proposes k tokens, the target model scores them all in
// one forward against its KV cache, and a prefix is accepted (greedy: identical to target greedy AR;
// sampled: lossless in distribution). Draft sources: a draft model sharing the target's vocabulary
// (with its own KV cache) or prompt lookup (n-gram match in the context, no second model).
// One prompt per request; the acceptance vocabulary is written down in speculative_verify.h. With a
// PrefixReuse the target's prefill skips stored prompt prefixes (prefix_reuse.h); the draft model
// prefills in full. Requests can also run as rows of one running batch whose verification forwards
// are shared (speculative_running_batch.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor/sampling_params.h"
#include "decoders/decoder.h"
#include "decoders/draft_spec.h"

namespace stepwise {

class Transformer;
class DraftSource;
class PrefixReuse;

struct SpeculativeConfig {
  SamplingParams sampling;
  int64_t draft_length = 4;       // k, drafts per round (the starting value when adaptive)
  bool adaptive = false;          // Hugging Face's schedule: k += 2 when every draft was accepted, else k -= 1 (min 1)
  std::vector<int64_t> stop_ids;  // as ArConfig: empty = the target's eos ids when stop_on_eos
  bool stop_on_eos = true;
};

class SpeculativeDecoder : public Decoder {
 public:
  // Throws stepwise::Error when a draft model's vocabulary differs from the target's.
  // `reuse` (optional) must be bound to `target`.
  SpeculativeDecoder(std::shared_ptr<const Transformer> target, DraftSpec draft, SpeculativeConfig config,
                     std::shared_ptr<PrefixReuse> reuse = nullptr);
  ~SpeculativeDecoder() override;

  // Stats: forward_calls = target forwards (prefill + one verification per round); details hold the
  // acceptance counters and target / draft forward counts and seconds (speculative_stats.h).
  DecodeResult decode(const DecodeRequest& request) override;
  std::string describe() const override;
  int64_t prefill_tokens(const std::vector<int64_t>& prompt) const override;

  const Transformer& target() const { return *target_; }
  const SpeculativeConfig& config() const { return config_; }
  // The prefix store's view the target prefills through; null without one.
  const PrefixReuse* prefix_reuse() const { return reuse_.get(); }
  // A fresh draft source of this decoder's kind, for one sequence.
  std::unique_ptr<DraftSource> make_draft() const;
  // Throws stepwise::Error for a request this decoder cannot run (checked before anything is allocated).
  void check_request(const DecodeRequest& request) const;

 private:
  std::shared_ptr<const Transformer> target_;
  DraftSpec draft_spec_;
  std::string draft_description_;
  SpeculativeConfig config_;
  std::shared_ptr<PrefixReuse> reuse_;
};

}  // namespace stepwise
