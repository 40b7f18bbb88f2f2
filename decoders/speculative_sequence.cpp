// A speculative sequence's rounds: propose, the verdict on the target's logits, emission and counters.
#include "decoders/speculative_sequence.h"

#include <torch/torch.h>

#include <algorithm>
#include <utility>

#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/prefix_reuse.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

// Hugging Face's adaptive schedule: two more drafts after a round that accepted all, else one fewer (min 1).
int64_t next_draft_length(int64_t length, int64_t proposed, int64_t accepted) {
  if (proposed == 0) return length;
  return accepted == proposed ? length + 2 : std::max<int64_t>(1, length - 1);
}

}  // namespace

SpeculativeSequence::SpeculativeSequence(const Transformer& target, std::unique_ptr<DraftSource> draft,
                                         const SpeculativeConfig& config, const DecodeRequest& request)
    : draft_(std::move(draft)), config_(config),
      stop_(config.stop_ids, config.stop_on_eos, target.config().eos_token_ids),
      generator_(make_generator(request.seed_of(0))), context_(request.prompts.at(0)),
      capacity_(static_cast<int64_t>(context_.size()) + request.max_new_tokens),
      max_new_tokens_(request.max_new_tokens), draft_length_(config.draft_length), reporter_(request, 1) {
  draft_->begin(capacity_);
}

void SpeculativeSequence::take_prefill(const torch::Tensor& logits, double seconds,
                                       std::optional<int64_t> reused_tokens) {
  const int64_t first = choose_tokens(logits, config_.sampling, generator_).item<int64_t>();
  stats_.target_forward_s += seconds;
  ++stats_.target_forward_calls;
  stats_.reused_prompt_tokens = reused_tokens;
  emit({first}, 0);
}

Draft SpeculativeSequence::propose() {
  requested_ = std::min(draft_length_, max_new_tokens_ - generated() - 1);
  return draft_->propose(context_, requested_, config_.sampling, generator_);
}

std::vector<int64_t> SpeculativeSequence::verification_input(const Draft& draft) const {
  std::vector<int64_t> fed = {context_.back()};
  fed.insert(fed.end(), draft.tokens.begin(), draft.tokens.end());
  return fed;
}

int64_t SpeculativeSequence::conclude(const Draft& draft, const torch::Tensor& logits, double seconds) {
  const Verification verdict =
      config_.sampling.greedy()
          ? verify_greedy(logits, draft.tokens)
          : verify_sampled(probabilities(logits, config_.sampling), draft.tokens, draft.probs, generator_);
  stats_.target_forward_s += seconds;
  ++stats_.target_forward_calls;
  const auto proposed = static_cast<int64_t>(draft.tokens.size());
  const int64_t accepted = verdict.accepted;
  draft_->rollback(static_cast<int64_t>(context_.size()) + accepted);
  stats_.record_round(requested_, proposed, accepted);
  std::vector<int64_t> emitted(draft.tokens.begin(), draft.tokens.begin() + accepted);
  emitted.push_back(verdict.next_token);
  emit(emitted, stats_.target_forward_calls - 1);
  if (config_.adaptive) draft_length_ = next_draft_length(draft_length_, proposed, accepted);
  return accepted;
}

void SpeculativeSequence::emit(const std::vector<int64_t>& tokens, int64_t step) {
  const int64_t first_position = generated();
  for (int64_t token : tokens) {
    context_.push_back(token);
    output_.push_back(token);
    commit_step_.push_back(step);
    if (stop_.contains(token)) {
      stopped_ = true;
      break;
    }
  }
  reporter_.report_appended(0, step, first_position,
                            std::vector<int64_t>(output_.begin() + first_position, output_.end()));
  stopped_ = stopped_ || reporter_.cancelled(0);
}

KvCache speculative_prefill(const Transformer& target, const PrefixReuse* reuse, SpeculativeSequence& sequence) {
  KvCache cache = target.make_cache(1, sequence.capacity());
  Stopwatch watch;
  const std::vector<int64_t>& prompt = sequence.context();
  const auto prompt_length = static_cast<int64_t>(prompt.size());
  const int64_t reused = reuse ? reuse->load_prefixes({prompt}, prompt_length, cache)[0] : 0;
  const std::vector<int64_t> uncached(prompt.begin() + reused, prompt.end());
  const torch::Tensor tokens = torch::tensor(uncached, torch::kInt64).view({1, -1}).to(target.device());  // (1, n)
  const torch::Tensor positions =
      torch::arange(reused, prompt_length, torch::kInt64).view({1, -1}).to(target.device());  // (1, n)
  ForwardOptions options;
  options.cache = &cache;
  options.cache_write_start = reused;  // slots [0, reused) came from the store
  options.last_position_only = true;
  const torch::Tensor logits = target.forward(tokens, positions, options).select(1, 0);  // (1, V)
  if (reuse) reuse->store_prefixes({prompt}, prompt_length, cache);
  sequence.take_prefill(logits, watch.seconds(), reuse ? std::optional<int64_t>(reused) : std::nullopt);
  return cache;
}

DecodeResult SpeculativeSequence::finish(double wall_s, double first_token_s) {
  stats_.draft = draft_->describe();
  stats_.draft_forward_calls = draft_->forward_calls();
  stats_.draft_forward_s = draft_->seconds();
  DecodeResult result;
  result.stats.forward_calls = stats_.target_forward_calls;
  result.stats.first_token_s = first_token_s;
  result.stats.generated_tokens = generated();
  result.stats.wall_s = wall_s;
  stats_.write_to(result.stats.details);
  result.tokens.push_back(std::move(output_));
  result.commit_step.push_back(std::move(commit_step_));
  return result;
}

}  // namespace stepwise
