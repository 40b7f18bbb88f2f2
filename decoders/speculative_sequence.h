// One sequence of a speculative decode without its target KV cache: the context (prompt plus emitted
// tokens), the draft source proposing its continuations, the acceptance test on the target's logits,
// the output with its commit steps, the adaptive draft length and the counters. The speculative
// decoder runs one with its own cache (speculative_decoder.cpp); the running batch runs one per row
// over a shared cache (speculative_running_batch.cpp). Whoever owns the cache runs the target forwards
// and tells the sequence what they gave, so a sequence's tokens never depend on where its cache lives.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/tensor/kv_cache.h"
#include "decoders/commit_reporter.h"
#include "decoders/decoder.h"
#include "decoders/draft_source.h"
#include "decoders/speculative_decoder.h"
#include "decoders/speculative_stats.h"
#include "decoders/speculative_verify.h"
#include "decoders/stop_tokens.h"

namespace stepwise {

class PrefixReuse;

class SpeculativeSequence {
 public:
  // The sequence of `request` (one prompt, checked by the caller) drafted by `draft`, which begins here.
  SpeculativeSequence(const Transformer& target, std::unique_ptr<DraftSource> draft, const SpeculativeConfig& config,
                      const DecodeRequest& request);

  const std::vector<int64_t>& context() const { return context_; }
  // The prompt plus max_new_tokens: the most tokens the context, and the target cache, will hold.
  int64_t capacity() const { return capacity_; }
  int64_t generated() const { return static_cast<int64_t>(output_.size()); }
  // Stopped by a stop token or its observer, or at max_new_tokens.
  bool finished() const { return stopped_ || generated() >= max_new_tokens_; }

  // The first token from the prefill's last logits (1, V); `seconds` of target forward, reused tokens
  // from a prefix store when one served the prefill.
  void take_prefill(const torch::Tensor& logits, double seconds, std::optional<int64_t> reused_tokens);

  // The drafts of the next round: as many as the draft length allows while leaving room for the
  // recovered or bonus token within max_new_tokens (possibly none). Call only when !finished().
  Draft propose();
  // The tokens the verification forward feeds: the context's last token, then the drafts.
  std::vector<int64_t> verification_input(const Draft& draft) const;
  // The round's verdict from the verification forward's logits (k + 1, V) over verification_input();
  // emits the accepted drafts and the recovered or bonus token, rolls the draft source back and adapts
  // the draft length. Returns the number of drafts accepted: the caller keeps that many of the k
  // drafted slots in the target cache.
  int64_t conclude(const Draft& draft, const torch::Tensor& logits, double seconds);

  // The result of the decode (counters and draft figures in details, speculative_stats.h).
  DecodeResult finish(double wall_s, double first_token_s);

 private:
  // Appends `tokens` (committed at verification step `step`) up to and including a stop token and
  // reports them.
  void emit(const std::vector<int64_t>& tokens, int64_t step);

  std::unique_ptr<DraftSource> draft_;
  const SpeculativeConfig& config_;
  const StopTokens stop_;
  at::Generator generator_;
  std::vector<int64_t> context_;  // prompt, then every emitted token
  int64_t capacity_;
  int64_t max_new_tokens_;
  int64_t draft_length_;
  int64_t requested_ = 0;  // the draft length asked for in the round under way
  bool stopped_ = false;
  std::vector<int64_t> output_;
  std::vector<int64_t> commit_step_;
  SpeculativeStats stats_;
  CommitReporter reporter_;
};

// The target's prefill of `sequence`'s prompt alone (through `reuse`'s stored prefixes when given, storing
// the chunks it computed) into a new cache of one row and the sequence's capacity, which it returns;
// the sequence takes its first token.
KvCache speculative_prefill(const Transformer& target, const PrefixReuse* reuse, SpeculativeSequence& sequence);

}  // namespace stepwise
