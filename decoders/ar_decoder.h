// Autoregressive decoding: one prefill forward over the (left-padded) prompts, then one forward per
// new token against a preallocated KV cache (or, for ablations, a full recompute of the prefix each
// step). Greedy or sampled with one generator per row seeded from the request, so a row's output never
// depends on the rest of the batch. With a PrefixReuse, the prefill skips every prompt prefix whose KV
// an earlier call stored, and stores the chunks it computed (greedy output is unchanged by reuse).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor/sampling_params.h"
#include "decoders/decoder.h"

namespace stepwise {

class PrefixReuse;
class Transformer;

struct ArConfig {
  SamplingParams sampling;
  bool use_cache = true;          // false: recompute the whole prefix at every step (ablation)
  std::vector<int64_t> stop_ids;  // empty = the model's eos ids (see stop_on_eos)
  bool stop_on_eos = true;        // only consulted when stop_ids is empty
};

class ArDecoder : public Decoder {
 public:
  // `reuse` (optional) must be bound to `model`; it needs the KV cache (use_cache).
  ArDecoder(std::shared_ptr<const Transformer> model, ArConfig config, std::shared_ptr<PrefixReuse> reuse = nullptr);

  // Per row: up to max_new_tokens tokens, ending early (stop token included) at a stop id. Stats:
  // forward_calls = prefill + one per further step; first_token_s = after the prefill's token choice.
  DecodeResult decode(const DecodeRequest& request) override;
  std::string describe() const override;
  int64_t prefill_tokens(const std::vector<int64_t>& prompt) const override;

  const ArConfig& config() const { return config_; }
  const Transformer& model() const { return *model_; }
  // The prefix store's view this decoder prefills through; null without one.
  const PrefixReuse* prefix_reuse() const { return reuse_.get(); }

 private:
  std::shared_ptr<const Transformer> model_;
  ArConfig config_;
  std::shared_ptr<PrefixReuse> reuse_;
};

}  // namespace stepwise
