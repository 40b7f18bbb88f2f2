// Autoregressive building blocks: request checks, the pad token, one batch's forwards, next-token choice.
#include "decoders/ar_run.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "decoders/prefix_reuse.h"
#include "models/transformer.h"

namespace stepwise {

int64_t pad_id_of(const TransformerConfig& config) {
  if (config.pad_token_id) return *config.pad_token_id;
  if (!config.eos_token_ids.empty()) return config.eos_token_ids.front();
  return 0;
}

void check_ar_request(const TransformerConfig& config, const DecodeRequest& request) {
  check(request.max_new_tokens >= 0, "max_new_tokens must be >= 0, got ", request.max_new_tokens);
  check(request.seeds.empty() || request.seeds.size() == request.prompts.size(), "decode request has ",
        request.seeds.size(), " seeds for ", request.prompts.size(), " prompts");
  check(!request.prompts.empty(), "decode request has no prompts");
  for (size_t r = 0; r < request.prompts.size(); ++r) {
    const std::vector<int64_t>& prompt = request.prompts[r];
    check(!prompt.empty(), "AR decoding needs a non-empty prompt");
    check_token_ids(config, prompt, "ar: prompt " + std::to_string(r));
    // Checked before a cache is allocated: the model has no positions past max_position_embeddings
    // (0: not set, in a config built in code).
    check(config.max_position_embeddings <= 0 ||
              request.max_new_tokens <= config.max_position_embeddings - static_cast<int64_t>(prompt.size()),
          "ar: prompt (", prompt.size(), " tokens) + max_new_tokens ", request.max_new_tokens,
          " exceeds the model's max_position_embeddings (", config.max_position_embeddings, ")");
  }
  // The pad is fed for left padding and for rows that stopped, which needs a batch of several rows.
  if (request.prompts.size() > 1)
    check_token_ids(config, {pad_id_of(config)}, "ar: the pad token (pad_token_id or eos)");
}

std::vector<int64_t> choose_next_tokens(const torch::Tensor& logits, const SamplingParams& sampling,
                                        std::vector<at::Generator>& generators, const std::vector<bool>& active,
                                        int64_t pad_id) {
  const size_t rows = active.size();
  std::vector<int64_t> chosen(rows, pad_id);
  if (sampling.greedy()) {
    const torch::Tensor best = logits.argmax(-1).to(torch::kCPU);  // (B)
    auto best_at = best.accessor<int64_t, 1>();
    for (size_t r = 0; r < rows; ++r)
      if (active[r]) chosen[r] = best_at[static_cast<int64_t>(r)];
    return chosen;
  }
  for (size_t r = 0; r < rows; ++r) {
    if (!active[r]) continue;
    chosen[r] = choose_tokens(logits.narrow(0, static_cast<int64_t>(r), 1), sampling, generators.at(r)).item<int64_t>();
  }
  return chosen;
}

ArRun::ArRun(const Transformer& model, const PaddedBatch& batch, int64_t max_new_tokens, bool use_cache)
    : model_(model), width_(batch.width), tokens_(batch.tokens), positions_(batch.positions) {
  const int64_t rows = batch.tokens.size(0);
  const int64_t capacity = width_ + max_new_tokens;
  if (batch.has_padding()) {
    // Prompt slots follow the padding mask; every generated slot is real.
    key_valid_ = torch::cat({batch.real, torch::ones({rows, max_new_tokens}, batch.real.options())}, 1);
  }
  if (use_cache) cache_.emplace(model.make_cache(rows, capacity));
  next_position_ = torch::tensor(batch.prompt_lengths, torch::kInt64).to(model.device()).view({rows, 1});  // (B, 1)
}

torch::Tensor ArRun::prefill() { return step(tokens_, positions_); }

torch::Tensor ArRun::prefill_reusing(const PrefixReuse& reuse, const std::vector<std::vector<int64_t>>& prompts) {
  TORCH_INTERNAL_ASSERT(cache_.has_value());
  const std::vector<int64_t> loaded = reuse.load_prefixes(prompts, width_, *cache_);
  int64_t start = width_;
  for (size_t r = 0; r < prompts.size(); ++r) {
    start = std::min(start, width_ - static_cast<int64_t>(prompts[r].size()) + loaded[r]);
    reused_tokens_ += loaded[r];
  }
  torch::Tensor logits =
      step(tokens_.narrow(1, start, width_ - start), positions_.narrow(1, start, width_ - start), start);
  reuse.store_prefixes(prompts, width_, *cache_);
  return logits;
}

torch::Tensor ArRun::decode_one_token(const torch::Tensor& tokens) {
  torch::Tensor input = tokens.to(model_.device()).view({-1, 1});  // (B, 1)
  torch::Tensor position = next_position_ + generated_;            // (B, 1)
  ++generated_;
  if (cache_) return step(input, position);
  tokens_ = torch::cat({tokens_, input}, 1);
  positions_ = torch::cat({positions_, position}, 1);
  return step(tokens_, positions_);
}

torch::Tensor ArRun::step(const torch::Tensor& input, const torch::Tensor& positions,
                          std::optional<int64_t> write_start) {
  ForwardOptions options;
  options.last_position_only = true;
  const int64_t key_count = width_ + generated_;  // every slot known so far, this step's input included
  if (key_valid_.defined()) options.attention.key_padding = key_valid_.narrow(1, 0, key_count);
  if (cache_) {
    options.cache = &*cache_;
    options.cache_write_start = write_start;
  }
  return model_.forward(input, positions, options).select(1, 0);  // (B, V)
}

}  // namespace stepwise
