// Speculative decoding loop in gpt-fast's shape: prefill, then rounds of draft -> verify -> accept.
//
// Target cache invariant: it holds every context token except the last (whose logits are pending).
// A round feeds [last, d_1..d_k] at positions [L-1, L+k), so verification appends the drafts to the
// cache; accepting a of them drops the k - a rejected ones. Nothing accepted is ever recomputed, by
// the target or (see draft_source.cpp) by a draft model. The sequence's own state and counters are
// speculative_sequence.h's.
#include "decoders/speculative_decoder.h"

#include <torch/torch.h>

#include <optional>
#include <utility>

#include "core/error.h"
#include "core/tensor/kv_cache.h"
#include "core/timing.h"
#include "decoders/draft_source.h"
#include "decoders/prefix_reuse.h"
#include "decoders/speculative_sequence.h"
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

}  // namespace

SpeculativeDecoder::SpeculativeDecoder(std::shared_ptr<const Transformer> target, DraftSpec draft,
                                       SpeculativeConfig config, std::shared_ptr<PrefixReuse> reuse)
    : target_(std::move(target)), draft_spec_(std::move(draft)), config_(std::move(config)), reuse_(std::move(reuse)) {
  check(target_ != nullptr, "speculative decoding: the target model is missing");
  check(config_.draft_length >= 1, "speculative decoding: draft length must be >= 1, got ", config_.draft_length);
  const std::unique_ptr<DraftSource> probe = make_draft();
  if (auto vocab = probe->vocab_size()) {
    check(*vocab == target_->config().vocab_size, "speculative decoding: the draft model's vocabulary (", *vocab,
          " tokens) differs from the target's (", target_->config().vocab_size,
          "); draft and target must share one tokenizer");
  }
  draft_description_ = probe->describe();
}

SpeculativeDecoder::~SpeculativeDecoder() = default;

std::unique_ptr<DraftSource> SpeculativeDecoder::make_draft() const { return make_draft_source(draft_spec_); }

int64_t SpeculativeDecoder::prefill_tokens(const std::vector<int64_t>& prompt) const {
  const int64_t length = static_cast<int64_t>(prompt.size());
  return reuse_ ? length - reuse_->cached_prefix_tokens(prompt) : length;
}

std::string SpeculativeDecoder::describe() const {
  std::string text = config_.sampling.greedy()
                         ? "speculative greedy"
                         : "speculative sampled T=" + std::to_string(config_.sampling.temperature);
  text += " k=" + std::to_string(config_.draft_length) + (config_.adaptive ? " adaptive" : "");
  return text + ", " + draft_description_;
}

DecodeResult SpeculativeDecoder::decode(const DecodeRequest& request) {
  Stopwatch wall;
  torch::NoGradGuard no_grad;
  check_request(request);
  SpeculativeSequence sequence(*target_, make_draft(), config_, request);
  double first_token_s = 0.0;
  if (request.max_new_tokens > 0) {
    KvCache cache = speculative_prefill(*target_, reuse_.get(), sequence);
    first_token_s = wall.seconds();
    while (!sequence.finished()) {
      const Draft draft = sequence.propose();
      // One target forward over [last, d_1..d_k] at positions [L-1, L+k): the cache holds the L - 1
      // context tokens before the last, so the drafts are appended to it.
      Stopwatch watch;
      const std::vector<int64_t> fed = sequence.verification_input(draft);
      const auto length = static_cast<int64_t>(sequence.context().size());
      auto [tokens, positions] = model_input(fed, length - 1, target_->device());
      ForwardOptions options;
      options.cache = &cache;
      torch::Tensor logits = target_->forward(tokens, positions, options)[0];  // (k+1, V)
      const int64_t accepted = sequence.conclude(draft, logits, watch.seconds());
      cache.drop_last(static_cast<int64_t>(draft.tokens.size()) - accepted);
    }
  }
  return sequence.finish(wall.seconds(), first_token_s);
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
