// Speculative decoding loop in gpt-fast's shape: prefill, then rounds of draft -> verify -> accept.
//
// Target cache invariant: it holds every context token except the last (whose logits are pending).
// A round feeds [last, d_1..d_k] at positions [L-1, L+k), so verification appends the drafts to the
// cache; accepting a of them drops the k - a rejected ones. Nothing accepted is ever recomputed, by
// the target or (see draft_source.cpp) by a draft model. Counters: speculative_stats.h.
#include "decoders/speculative_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/tensor/kv_cache.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/commit_reporter.h"
#include "decoders/draft_source.h"
#include "decoders/prefix_reuse.h"
#include "decoders/speculative_stats.h"
#include "decoders/speculative_verify.h"
#include "decoders/stop_tokens.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

// tokens (1, n) and their positions (1, n), the positions starting at `first_position`.
std::pair<torch::Tensor, torch::Tensor> model_input(const std::vector<int64_t>& tokens, int64_t first_position,
                                                    const torch::Device& device) {
  const int64_t count = static_cast<int64_t>(tokens.size());
  return {torch::tensor(tokens, torch::kInt64).view({1, -1}).to(device),
          torch::arange(first_position, first_position + count, torch::kInt64).view({1, -1}).to(device)};
}

// Hugging Face's adaptive schedule: two more drafts after a round that accepted all, else one fewer (min 1).
int64_t next_draft_length(int64_t length, int64_t proposed, int64_t accepted) {
  if (proposed == 0) return length;
  return accepted == proposed ? length + 2 : std::max<int64_t>(1, length - 1);
}

// The state of one decode: the target's cache, the context (prompt plus accepted output), the output
// with its commit steps, and the counters.
class SpeculativeRun {
 public:
  SpeculativeRun(const Transformer& target, DraftSource& draft, const SpeculativeConfig& config,
                 const PrefixReuse* reuse, const DecodeRequest& request)
      : target_(target), draft_(draft), sampling_(config.sampling), reuse_(reuse),
        stop_(config.stop_ids, config.stop_on_eos, target.config().eos_token_ids),
        generator_(make_generator(request.seed_of(0))), context_(request.prompts[0]),
        capacity_(static_cast<int64_t>(context_.size()) + request.max_new_tokens), reporter_(request, 1) {
    draft_.begin(capacity_);
  }

  // Runs the prompt through the target (skipping stored prefixes) and emits the first token.
  // Returns true when that token stops the sequence.
  bool prefill() {
    cache_.emplace(target_.make_cache(1, capacity_));
    Stopwatch watch;
    const int64_t prompt_length = static_cast<int64_t>(context_.size());
    const int64_t reused = reuse_ ? reuse_->load_prefixes({context_}, prompt_length, *cache_)[0] : 0;
    std::vector<int64_t> uncached(context_.begin() + reused, context_.end());
    auto [tokens, positions] = model_input(uncached, reused, target_.device());
    ForwardOptions options;
    options.cache = &*cache_;
    options.cache_write_start = reused;  // slots [0, reused) came from the store
    options.last_position_only = true;
    torch::Tensor logits = target_.forward(tokens, positions, options).select(1, 0);  // (1, V)
    if (reuse_) {
      reuse_->store_prefixes({context_}, prompt_length, *cache_);
      stats_.reused_prompt_tokens = reused;
    }
    const int64_t first = choose_tokens(logits, sampling_, generator_).item<int64_t>();
    stats_.target_forward_s += watch.seconds();
    ++stats_.target_forward_calls;
    return emit({first}, 0);
  }

  // Up to `count` draft tokens continuing the context.
  Draft draft(int64_t count) { return draft_.propose(context_, count, sampling_, generator_); }

  // One target forward over [last, d_1..d_k] and the acceptance test on its logits (k+1, V).
  Verification verify(const Draft& draft) {
    Stopwatch watch;
    const int64_t length = static_cast<int64_t>(context_.size());  // L; the cache holds L - 1 slots
    std::vector<int64_t> fed = {context_.back()};
    fed.insert(fed.end(), draft.tokens.begin(), draft.tokens.end());
    auto [tokens, positions] = model_input(fed, length - 1, target_.device());
    ForwardOptions options;
    options.cache = &*cache_;
    torch::Tensor logits = target_.forward(tokens, positions, options)[0];  // (k+1, V)
    const Verification verdict =
        sampling_.greedy()
            ? verify_greedy(logits, draft.tokens)
            : verify_sampled(probabilities(logits, sampling_), draft.tokens, draft.probs, generator_);
    stats_.target_forward_s += watch.seconds();
    ++stats_.target_forward_calls;
    return verdict;
  }

  // Keeps the accepted drafts in both caches and emits them plus the recovered or bonus token.
  // Returns true when an emitted token stops the sequence.
  bool accept(const Draft& draft, const Verification& verdict, int64_t requested) {
    const int64_t proposed = static_cast<int64_t>(draft.tokens.size());
    const int64_t a = verdict.accepted;
    cache_->drop_last(proposed - a);
    draft_.rollback(static_cast<int64_t>(context_.size()) + a);
    stats_.record_round(requested, proposed, a);
    std::vector<int64_t> emitted(draft.tokens.begin(), draft.tokens.begin() + a);
    emitted.push_back(verdict.next_token);
    return emit(emitted, stats_.target_forward_calls - 1);
  }

  int64_t generated() const { return static_cast<int64_t>(output_.size()); }

  DecodeResult finish(double wall_s, double first_token_s) {
    stats_.draft = draft_.describe();
    stats_.draft_forward_calls = draft_.forward_calls();
    stats_.draft_forward_s = draft_.seconds();
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

 private:
  // Appends `tokens` (committed at verification step `step`) up to and including a stop token and
  // reports them. Returns true when the sequence stops there or its observer cancelled it.
  bool emit(const std::vector<int64_t>& tokens, int64_t step) {
    const int64_t first_position = generated();
    bool stopped = false;
    for (int64_t token : tokens) {
      context_.push_back(token);
      output_.push_back(token);
      commit_step_.push_back(step);
      if (stop_.contains(token)) {
        stopped = true;
        break;
      }
    }
    reporter_.report_appended(0, step, first_position,
                              std::vector<int64_t>(output_.begin() + first_position, output_.end()));
    return stopped || reporter_.cancelled(0);
  }

  const Transformer& target_;
  DraftSource& draft_;
  const SamplingParams& sampling_;
  const PrefixReuse* reuse_;
  const StopTokens stop_;
  at::Generator generator_;
  std::vector<int64_t> context_;  // prompt, then every emitted token
  int64_t capacity_;              // prompt + max_new_tokens
  std::optional<KvCache> cache_;  // capacity_ slots from prefill() on: every context token but the last
  std::vector<int64_t> output_;
  std::vector<int64_t> commit_step_;
  SpeculativeStats stats_;
  CommitReporter reporter_;
};

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
  check_request(request);
  const int64_t max_new = request.max_new_tokens;
  SpeculativeRun run(*target_, *draft_, config_, reuse_.get(), request);
  double first_token_s = 0.0;
  if (max_new > 0) {
    bool done = run.prefill();
    first_token_s = wall.seconds();
    int64_t draft_length = config_.draft_length;
    while (!done && run.generated() < max_new) {
      // Room for the drafts and the recovered or bonus token that every round emits.
      const int64_t requested = std::min(draft_length, max_new - run.generated() - 1);
      const Draft draft = run.draft(requested);
      const Verification verdict = run.verify(draft);
      done = run.accept(draft, verdict, requested);
      if (config_.adaptive)
        draft_length = next_draft_length(draft_length, static_cast<int64_t>(draft.tokens.size()), verdict.accepted);
    }
  }
  return run.finish(wall.seconds(), first_token_s);
}

void SpeculativeDecoder::check_request(const DecodeRequest& request) const {
  check(request.prompts.size() == 1, "speculative decoding takes one prompt per request (batch size 1), got ",
        request.prompts.size());
  const std::vector<int64_t>& prompt = request.prompts[0];
  check(!prompt.empty(), "speculative decoding needs a non-empty prompt");
  check_token_ids(target_->config(), prompt, "speculative: prompt");
  check(request.max_new_tokens >= 0, "max_new_tokens must be >= 0, got ", request.max_new_tokens);
  check(request.seeds.size() <= 1, "decode request has ", request.seeds.size(), " seeds for 1 prompt");
  // Checked before any cache is allocated: the target has no positions past max_position_embeddings (0: no bound).
  const int64_t max_positions = target_->config().max_position_embeddings;
  check(max_positions <= 0 || request.max_new_tokens <= max_positions - static_cast<int64_t>(prompt.size()),
        "speculative: prompt (", prompt.size(), " tokens) + max_new_tokens ", request.max_new_tokens,
        " exceeds the target model's max_position_embeddings (", max_positions, ")");
}

}  // namespace stepwise
