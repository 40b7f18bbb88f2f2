// Autoregressive decoder: prefill, then decode_one_token until every row stops or the budget is spent.
#include "decoders/ar_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/tensor/kv_cache.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/batch.h"
#include "decoders/commit_reporter.h"
#include "decoders/prefix_reuse.h"
#include "decoders/stop_tokens.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

// Token fed for left padding and for rows that already stopped.
int64_t pad_id_of(const TransformerConfig& config) {
  if (config.pad_token_id) return *config.pad_token_id;
  if (!config.eos_token_ids.empty()) return config.eos_token_ids.front();
  return 0;
}

// The per-call state of one batch: cache (or the growing sequence without one) and the key mask.
class ArRun {
 public:
  ArRun(const Transformer& model, const PaddedBatch& batch, int64_t max_new_tokens, bool use_cache)
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

  // Logits (B, V) for the token after each prompt.
  torch::Tensor prefill() { return step(tokens_, positions_); }

  // The same with the stored prefixes of `prompts` loaded first: only slots [start, width) are fed,
  // where start is the earliest slot any row has not loaded. Stores the chunks computed here.
  torch::Tensor prefill_reusing(const PrefixReuse& reuse, const std::vector<std::vector<int64_t>>& prompts) {
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
  int64_t reused_tokens() const { return reused_tokens_; }

  // Appends `tokens` (B) and returns the logits (B, V) for the token after them.
  torch::Tensor decode_one_token(const torch::Tensor& tokens) {
    torch::Tensor input = tokens.to(model_.device()).view({-1, 1});  // (B, 1)
    torch::Tensor position = next_position_ + generated_;            // (B, 1)
    ++generated_;
    if (cache_) return step(input, position);
    tokens_ = torch::cat({tokens_, input}, 1);
    positions_ = torch::cat({positions_, position}, 1);
    return step(tokens_, positions_);
  }

 private:
  // input, positions (B, T): T = 1 with a cache after the prefill, the whole sequence without one.
  // With a cache the inputs occupy slots [write_start, write_start + T) (default: the cache's length).
  torch::Tensor step(const torch::Tensor& input, const torch::Tensor& positions,
                     std::optional<int64_t> write_start = std::nullopt) {
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

  const Transformer& model_;
  int64_t width_;
  torch::Tensor tokens_;         // (B, T) prompt, plus generated tokens without a cache
  torch::Tensor positions_;      // (B, T) positions of tokens_
  torch::Tensor key_valid_;      // (B, width + max_new) bool; undefined when no row is padded
  torch::Tensor next_position_;  // (B, 1) position of each row's first generated token
  std::optional<KvCache> cache_;
  int64_t generated_ = 0;       // tokens fed back so far
  int64_t reused_tokens_ = 0;   // prompt tokens loaded from the prefix store, summed over rows
};

}  // namespace

ArDecoder::ArDecoder(std::shared_ptr<const Transformer> model, ArConfig config, std::shared_ptr<PrefixReuse> reuse)
    : model_(std::move(model)), config_(std::move(config)), reuse_(std::move(reuse)) {
  TORCH_INTERNAL_ASSERT(model_ != nullptr);
  check(reuse_ == nullptr || config_.use_cache, "prefix reuse needs the KV cache (use_cache: true)");
}

int64_t ArDecoder::prefill_tokens(const std::vector<int64_t>& prompt) const {
  const int64_t length = static_cast<int64_t>(prompt.size());
  return reuse_ ? length - reuse_->cached_prefix_tokens(prompt) : length;
}

std::string ArDecoder::describe() const {
  std::string text =
      config_.sampling.greedy() ? "ar greedy" : "ar sampled T=" + std::to_string(config_.sampling.temperature);
  if (!config_.use_cache) text += " no-cache";
  return text;
}

DecodeResult ArDecoder::decode(const DecodeRequest& request) {
  Stopwatch wall;
  torch::NoGradGuard no_grad;
  check(request.max_new_tokens >= 0, "max_new_tokens must be >= 0, got ", request.max_new_tokens);
  check(request.seeds.empty() || request.seeds.size() == request.prompts.size(), "decode request has ",
        request.seeds.size(), " seeds for ", request.prompts.size(), " prompts");
  const TransformerConfig& model_config = model_->config();
  for (size_t r = 0; r < request.prompts.size(); ++r) {
    const std::vector<int64_t>& prompt = request.prompts[r];
    check(!prompt.empty(), "AR decoding needs a non-empty prompt");
    check_token_ids(model_config, prompt, "ar: prompt " + std::to_string(r));
    // Checked before the cache is allocated: the model has no positions past max_position_embeddings
    // (0: not set, in a config built in code).
    check(model_config.max_position_embeddings <= 0 ||
              request.max_new_tokens <= model_config.max_position_embeddings - static_cast<int64_t>(prompt.size()),
          "ar: prompt (", prompt.size(), " tokens) + max_new_tokens ", request.max_new_tokens,
          " exceeds the model's max_position_embeddings (", model_config.max_position_embeddings, ")");
  }

  const StopTokens stop(config_.stop_ids, config_.stop_on_eos, model_config.eos_token_ids);
  const int64_t pad_id = pad_id_of(model_config);
  // The pad is fed for left padding and for rows that stopped, which needs a batch of several rows.
  if (request.prompts.size() > 1) check_token_ids(model_config, {pad_id}, "ar: the pad token (pad_token_id or eos)");
  const PaddedBatch batch = left_pad(request.prompts, pad_id, 0, 0, model_->device());
  const size_t rows = request.prompts.size();

  std::vector<at::Generator> generators;
  if (!config_.sampling.greedy())
    for (size_t r = 0; r < rows; ++r) generators.push_back(make_generator(request.seed_of(r)));

  DecodeResult result;
  result.tokens.assign(rows, {});
  result.commit_step.assign(rows, {});
  std::vector<bool> done(rows, false);
  size_t finished = 0;
  CommitReporter reporter(request, rows);
  double prefill_s = 0.0;
  int64_t reused_tokens = 0;

  if (request.max_new_tokens > 0) {
    ArRun run(*model_, batch, request.max_new_tokens, config_.use_cache);
    torch::Tensor logits = reuse_ ? run.prefill_reusing(*reuse_, request.prompts) : run.prefill();  // (B, V)
    reused_tokens = run.reused_tokens();
    for (int64_t step = 0;; ++step) {
      ++result.stats.forward_calls;
      // (B) chosen tokens; rows that already stopped keep a pad and are never sampled again.
      torch::Tensor chosen = torch::full({static_cast<int64_t>(rows)}, pad_id, torch::kInt64);
      if (config_.sampling.greedy()) {
        chosen = logits.argmax(-1).to(torch::kCPU);
      } else {
        for (size_t r = 0; r < rows; ++r) {
          if (done[r]) continue;
          const int64_t row = static_cast<int64_t>(r);
          chosen[row] = choose_tokens(logits.narrow(0, row, 1), config_.sampling, generators[r]).item<int64_t>();
        }
      }
      auto chosen_at = chosen.accessor<int64_t, 1>();
      for (size_t r = 0; r < rows; ++r) {
        const int64_t row = static_cast<int64_t>(r);
        if (done[r]) {
          chosen_at[row] = pad_id;
          continue;
        }
        result.tokens[r].push_back(chosen_at[row]);
        result.commit_step[r].push_back(step);
        reporter.report_appended(r, step, static_cast<int64_t>(result.tokens[r].size()) - 1, {chosen_at[row]});
        if (stop.contains(chosen_at[row]) || reporter.cancelled(r)) {
          done[r] = true;
          ++finished;
        }
      }
      if (step == 0) {
        result.stats.first_token_s = wall.seconds();
        prefill_s = result.stats.first_token_s;
      }
      if (finished == rows || step + 1 == request.max_new_tokens) break;
      logits = run.decode_one_token(chosen);
    }
  }

  for (const auto& row : result.tokens) result.stats.generated_tokens += static_cast<int64_t>(row.size());
  result.stats.wall_s = wall.seconds();
  result.stats.details = {{"use_cache", config_.use_cache},
                          {"prefill_s", prefill_s},
                          {"decode_s", result.stats.wall_s - prefill_s},
                          {"prompt_width", batch.width}};
  if (reuse_) result.stats.details["reused_prompt_tokens"] = reused_tokens;
  return result;
}

}  // namespace stepwise
