// The diffusion draft source: left-to-right reveals of k masked positions after the context.
#include "decoders/diffusion_draft.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor/kv_cache.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

// Cache invariant (block models): the cache holds the keys of context blocks that lie wholly before the
// context's end, which no later token can change; a full-sequence model has no cache.
class DiffusionDraft : public DraftSource {
 public:
  DiffusionDraft(std::shared_ptr<const Transformer> model, int64_t steps) : model_(std::move(model)), steps_(steps) {
    check(model_ != nullptr, "speculative decoding: the draft model is missing");
    check(model_->config().mask_token_id.has_value(), "speculative decoding: the diffusion draft (model_type '",
          model_->config().model_type, "') has no mask_token_id");
    check(steps_ >= 1, "speculative decoding: draft_steps must be >= 1, got ", steps_);
  }

  void begin(int64_t capacity) override {
    cache_.reset();
    if (block_length()) cache_.emplace(model_->make_cache(1, capacity));
    forward_calls_ = 0;
    seconds_ = 0.0;
  }

  Draft propose(const std::vector<int64_t>& context, int64_t count, const SamplingParams& sampling,
                at::Generator& generator) override {
    Draft draft;
    if (count <= 0) return draft;
    Stopwatch watch;
    const int64_t length = static_cast<int64_t>(context.size());
    std::vector<int64_t> canvas = context;
    canvas.insert(canvas.end(), static_cast<size_t>(count), *model_->config().mask_token_id);
    const int64_t steps = std::min(steps_, count);
    std::vector<torch::Tensor> probs;  // per step (n, V) when sampling
    int64_t next = length;             // first masked canvas column
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t n = count / steps + (s < count % steps ? 1 : 0);
      torch::Tensor logits = forward(canvas, length, next, n);  // (n, V)
      ++forward_calls_;
      torch::Tensor tokens;  // (n,)
      if (sampling.greedy()) {
        tokens = logits.argmax(-1);
      } else {
        probs.push_back(probabilities(logits, sampling));
        tokens = sample_from(probs.back(), generator);
      }
      tokens = tokens.to(torch::kCPU);
      for (int64_t i = 0; i < n; ++i) canvas[static_cast<size_t>(next + i)] = tokens[i].item<int64_t>();
      next += n;
    }
    draft.tokens.assign(canvas.begin() + length, canvas.end());
    if (!probs.empty()) draft.probs = torch::cat(probs, 0);  // (k, V)
    seconds_ += watch.seconds();
    return draft;
  }

  void rollback(int64_t length) override {
    if (cache_) cache_->keep(length);
  }

  std::optional<int64_t> vocab_size() const override { return model_->config().vocab_size; }
  std::string describe() const override {
    const TransformerConfig& config = model_->config();
    std::string kind = block_length() ? "block diffusion draft (block " + std::to_string(*block_length()) + ", "
                                      : "diffusion draft (";
    return kind + config.model_type + ", " + std::to_string(config.num_layers) + " layers, " +
           std::to_string(steps_) + (steps_ == 1 ? " forward" : " forwards") + " per proposal)";
  }

 private:
  std::optional<int64_t> block_length() const { return model_->config().block_size; }

  // Logits (n, V) for canvas columns [first, first + n) (all masked); `length` context tokens precede the masks.
  torch::Tensor forward(const std::vector<int64_t>& canvas, int64_t length, int64_t first, int64_t n) {
    const bool shift = model_->config().shift_logits;
    const int64_t width = static_cast<int64_t>(canvas.size());
    ForwardOptions options;
    int64_t feed_begin = 0;
    if (cache_) {
      // Context blocks before the cached end are final; under the shift the column before the first mask
      // is fed too, since its output predicts that mask.
      feed_begin = std::min(cache_->length(), length - (shift ? 1 : 0));
      options.cache = &*cache_;
      options.cache_write_start = feed_begin;
      options.attention.kind = AttentionKind::kBlockCausal;
      options.attention.block_size = *block_length();
    } else {
      options.attention = AttentionSpec::bidirectional();
    }
    const torch::Device device = model_->device();
    std::vector<int64_t> fed(canvas.begin() + feed_begin, canvas.end());
    torch::Tensor tokens = torch::tensor(fed, torch::kInt64).view({1, -1}).to(device);                  // (1, T)
    torch::Tensor positions = torch::arange(feed_begin, width, torch::kInt64).view({1, -1}).to(device);  // (1, T)
    torch::Tensor outputs = torch::arange(first, first + n, torch::kInt64) - (shift ? 1 : 0) - feed_begin;
    options.logits_at = outputs.clamp_min(0).view({1, -1}).to(device);  // (1, n)
    torch::Tensor logits = model_->forward(tokens, positions, options)[0];  // (n, V)
    // Only whole blocks of context tokens keep their keys: the rest saw mask tokens.
    if (cache_) cache_->keep(length / *block_length() * *block_length());
    return logits;
  }

  std::shared_ptr<const Transformer> model_;
  int64_t steps_;
  std::optional<KvCache> cache_;  // block models only
};

}  // namespace

std::unique_ptr<DraftSource> make_diffusion_draft(std::shared_ptr<const Transformer> model, int64_t steps) {
  return std::make_unique<DiffusionDraft>(std::move(model), steps);
}

}  // namespace stepwise
