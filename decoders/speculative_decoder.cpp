// Speculative decoding loop: prefill, then rounds of draft -> one target verification forward -> accept.
//
// Target cache invariant: it holds every context token except the last (whose logits are pending).
// A round feeds [last, d_1..d_k] at slots [L-1, L+k), so the verification forward appends the drafts
// to the cache; accepting a drafts drops the k - a rejected ones (L + a slots remain). Nothing accepted is
// ever recomputed, by the target or (see draft_source.cpp) by a draft model.
//
// Stats (details):
//   drafted                 draft tokens proposed, summed over rounds
//   accepted                draft tokens accepted, summed over rounds
//   draft_rounds            verification rounds that had at least one draft token
//   acceptance_rate         accepted / drafted
//   mean_acceptance_length  1 + accepted / draft_rounds: tokens emitted per verification forward that
//                           had drafts, counting the recovered or bonus token (the conventional metric)
//   position_acceptance     entry i: rounds that accepted d_{i+1} / rounds that proposed d_{i+1}
//                           (unconditional on earlier positions, so it decreases with i)
//   draft_lengths           the draft length requested in each round (shows the adaptive schedule)
//   target_forward_calls / target_forward_s, draft_forward_calls / draft_forward_s
#include "decoders/speculative_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "core/kv_cache.h"
#include "core/sampling.h"
#include "core/timing.h"
#include "decoders/draft_source.h"
#include "decoders/prefix_reuse.h"
#include "decoders/speculative_verify.h"
#include "decoders/stop_tokens.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

// tokens from context[start, end) at positions start.. -> (1, end - start) input and positions.
std::pair<torch::Tensor, torch::Tensor> slice_input(const std::vector<int64_t>& context, int64_t start,
                                                    const torch::Device& device) {
  std::vector<int64_t> tokens(context.begin() + start, context.end());
  const int64_t end = static_cast<int64_t>(context.size());
  return {torch::tensor(tokens, torch::kInt64).view({1, -1}).to(device),
          torch::arange(start, end, torch::kInt64).view({1, -1}).to(device)};
}

}  // namespace

SpeculativeDecoder::SpeculativeDecoder(std::shared_ptr<const Transformer> target, DraftSpec draft,
                                       SpeculativeConfig config, std::shared_ptr<PrefixReuse> reuse)
    : target_(std::move(target)), config_(std::move(config)), reuse_(std::move(reuse)) {
  check(target_ != nullptr, "speculative decoding: the target model is missing");
  check(config_.draft_length >= 1, "speculative decoding: draft length must be >= 1, got ", config_.draft_length);
  draft_ = make_draft_source(draft);
  if (auto vocab = draft_->vocab_size()) {
    check(*vocab == target_->config().vocab_size, "speculative decoding: the draft model's vocabulary (", *vocab,
          " tokens) differs from the target's (", target_->config().vocab_size,
          "); draft and target must share one tokenizer");
  }
}

SpeculativeDecoder::~SpeculativeDecoder() = default;

int64_t SpeculativeDecoder::prefill_tokens(const std::vector<int64_t>& prompt) const {
  const int64_t length = static_cast<int64_t>(prompt.size());
  return reuse_ ? length - reuse_->cached_prefix_tokens(prompt) : length;
}

std::string SpeculativeDecoder::describe() const {
  std::string text = config_.sampling.greedy()
                         ? "speculative greedy"
                         : "speculative sampled T=" + std::to_string(config_.sampling.temperature);
  text += " k=" + std::to_string(config_.draft_length) + (config_.adaptive ? " adaptive" : "");
  return text + ", " + draft_->describe();
}

DecodeResult SpeculativeDecoder::decode(const DecodeRequest& request) {
  Stopwatch wall;
  torch::NoGradGuard no_grad;
  check(request.prompts.size() == 1, "speculative decoding takes one prompt per request (batch size 1), got ",
        request.prompts.size());
  check(!request.prompts[0].empty(), "speculative decoding needs a non-empty prompt");
  check_token_ids(target_->config(), request.prompts[0], "speculative: prompt");
  check(request.max_new_tokens >= 0, "max_new_tokens must be >= 0, got ", request.max_new_tokens);
  check(request.seeds.size() <= 1, "decode request has ", request.seeds.size(), " seeds for 1 prompt");
  // Checked before any cache is allocated: the target has no positions past max_position_embeddings (0: no bound).
  const int64_t max_positions = target_->config().max_position_embeddings;
  check(max_positions <= 0 || request.max_new_tokens <= max_positions - static_cast<int64_t>(request.prompts[0].size()),
        "speculative: prompt (", request.prompts[0].size(), " tokens) + max_new_tokens ", request.max_new_tokens,
        " exceeds the target model's max_position_embeddings (", max_positions, ")");

  const SamplingParams& sampling = config_.sampling;
  const StopTokens stop(config_.stop_ids, config_.stop_on_eos, target_->config().eos_token_ids);
  at::Generator generator = make_generator(request.seed_of(0));
  std::vector<int64_t> context = request.prompts[0];
  const int64_t prompt_length = static_cast<int64_t>(context.size());
  const int64_t max_new = request.max_new_tokens;

  DecodeResult result;
  result.tokens.assign(1, {});
  result.commit_step.assign(1, {});
  std::vector<int64_t>& output = result.tokens[0];
  std::vector<int64_t>& commit_step = result.commit_step[0];

  int64_t drafted = 0, accepted_total = 0, draft_rounds = 0;
  std::vector<int64_t> proposed_at, accepted_at;  // per draft position
  std::vector<int64_t> draft_lengths;
  double target_s = 0.0;
  draft_->begin(prompt_length + max_new);

  if (max_new > 0) {
    KvCache cache = target_->make_cache(1, prompt_length + max_new);
    ForwardOptions prefill_options;
    prefill_options.cache = &cache;
    prefill_options.last_position_only = true;
    Stopwatch watch;
    // With reuse, slots [0, reused) come from the store and only the rest of the prompt is fed.
    const int64_t reused = reuse_ ? reuse_->load_prefixes({context}, prompt_length, cache)[0] : 0;
    prefill_options.cache_write_start = reused;
    auto [prompt_tokens, prompt_positions] = slice_input(context, reused, target_->device());
    torch::Tensor logits = target_->forward(prompt_tokens, prompt_positions, prefill_options).select(1, 0);  // (1, V)
    if (reuse_) {
      reuse_->store_prefixes({context}, prompt_length, cache);
      result.stats.details["reused_prompt_tokens"] = reused;
    }
    const int64_t first = choose_tokens(logits, sampling, generator).item<int64_t>();
    target_s += watch.seconds();
    result.stats.forward_calls = 1;
    context.push_back(first);
    output.push_back(first);
    commit_step.push_back(0);
    result.stats.first_token_s = wall.seconds();
    bool done = stop.contains(first);

    int64_t draft_length = config_.draft_length;
    while (!done && static_cast<int64_t>(output.size()) < max_new) {
      const int64_t length = static_cast<int64_t>(context.size());  // L; the cache holds L - 1 slots
      const int64_t count = std::min(draft_length, max_new - static_cast<int64_t>(output.size()) - 1);
      Draft draft = draft_->propose(context, count, sampling, generator);
      const int64_t k = static_cast<int64_t>(draft.tokens.size());
      TORCH_INTERNAL_ASSERT(k <= count);
      draft_lengths.push_back(count);

      // Verification: [last, d_1..d_k] at positions L-1 .. L+k-1 -> logits (k+1, V).
      watch.reset();
      std::vector<int64_t> fed = {context.back()};
      fed.insert(fed.end(), draft.tokens.begin(), draft.tokens.end());
      torch::Tensor input = torch::tensor(fed, torch::kInt64).view({1, -1}).to(target_->device());
      torch::Tensor positions =
          torch::arange(length - 1, length + k, torch::kInt64).view({1, -1}).to(target_->device());
      ForwardOptions verify_options;
      verify_options.cache = &cache;
      torch::Tensor target_logits = target_->forward(input, positions, verify_options)[0];  // (k+1, V)
      const Verification verdict = sampling.greedy() ? verify_greedy(target_logits, draft.tokens)
                                                     : verify_sampled(probabilities(target_logits, sampling),
                                                                      draft.tokens, draft.probs, generator);
      target_s += watch.seconds();
      const int64_t step = result.stats.forward_calls++;

      const int64_t a = verdict.accepted;
      cache.drop_last(k - a);  // the rejected drafts
      draft_->rollback(length + a);
      if (k > 0) {
        ++draft_rounds;
        drafted += k;
        accepted_total += a;
        if (static_cast<int64_t>(proposed_at.size()) < k) {
          proposed_at.resize(static_cast<size_t>(k), 0);
          accepted_at.resize(static_cast<size_t>(k), 0);
        }
        for (int64_t i = 0; i < k; ++i) ++proposed_at[static_cast<size_t>(i)];
        for (int64_t i = 0; i < a; ++i) ++accepted_at[static_cast<size_t>(i)];
        if (config_.adaptive) draft_length = a == k ? draft_length + 2 : std::max<int64_t>(1, draft_length - 1);
      }

      std::vector<int64_t> emitted(draft.tokens.begin(), draft.tokens.begin() + a);
      emitted.push_back(verdict.next_token);
      for (int64_t token : emitted) {
        context.push_back(token);
        output.push_back(token);
        commit_step.push_back(step);
        if (stop.contains(token)) {
          done = true;
          break;
        }
      }
    }
  }

  nlohmann::json position_acceptance = nlohmann::json::array();
  for (size_t i = 0; i < proposed_at.size(); ++i)
    position_acceptance.push_back(static_cast<double>(accepted_at[i]) / static_cast<double>(proposed_at[i]));
  nlohmann::json& details = result.stats.details;
  details["draft"] = draft_->describe();
  details["drafted"] = drafted;
  details["accepted"] = accepted_total;
  details["draft_rounds"] = draft_rounds;
  details["acceptance_rate"] = drafted > 0 ? nlohmann::json(static_cast<double>(accepted_total) / drafted) : nullptr;
  details["mean_acceptance_length"] =
      draft_rounds > 0 ? nlohmann::json(1.0 + static_cast<double>(accepted_total) / draft_rounds) : nullptr;
  details["position_acceptance"] = position_acceptance;
  details["draft_lengths"] = draft_lengths;
  details["target_forward_calls"] = result.stats.forward_calls;
  details["target_forward_s"] = target_s;
  details["draft_forward_calls"] = draft_->forward_calls();
  details["draft_forward_s"] = draft_->seconds();
  result.stats.generated_tokens = static_cast<int64_t>(output.size());
  result.stats.wall_s = wall.seconds();
  return result;
}

}  // namespace stepwise
