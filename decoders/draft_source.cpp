// Draft sources: a causal draft model with its own KV cache, and prompt lookup (n-gram match in the
// context); masked-diffusion draft models are built by diffusion_draft.h.
#include "decoders/draft_source.h"

#include <torch/torch.h>

#include <optional>
#include <utility>
#include <variant>

#include "core/error.h"
#include "core/tensor/kv_cache.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/diffusion_draft.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

// Invariant: the cache holds a prefix of the context (never the context's last token); propose() feeds
// the uncached rest in one forward, then one forward per further draft token.
class ModelDraft : public DraftSource {
 public:
  explicit ModelDraft(std::shared_ptr<const Transformer> model) : model_(std::move(model)) {
    check(model_ != nullptr, "speculative decoding: the draft model is missing");
  }

  void begin(int64_t capacity) override {
    cache_.emplace(model_->make_cache(1, capacity));
    forward_calls_ = 0;
    seconds_ = 0.0;
  }

  Draft propose(const std::vector<int64_t>& context, int64_t count, const SamplingParams& sampling,
                at::Generator& generator) override {
    TORCH_INTERNAL_ASSERT(cache_.has_value(), "propose() before begin()");
    Draft draft;
    if (count <= 0) return draft;
    Stopwatch watch;
    const int64_t length = static_cast<int64_t>(context.size());
    const int64_t cached = cache_->length();
    TORCH_INTERNAL_ASSERT(cached < length);
    std::vector<int64_t> fresh(context.begin() + cached, context.end());
    torch::Tensor input = torch::tensor(fresh, torch::kInt64).view({1, -1}).to(model_->device());  // (1, n)
    torch::Tensor positions = torch::arange(cached, length, torch::kInt64).view({1, -1}).to(model_->device());
    ForwardOptions options;
    options.cache = &*cache_;
    options.last_position_only = true;
    std::vector<torch::Tensor> probs;  // k of (1, V)
    for (int64_t i = 0; i < count; ++i) {
      torch::Tensor logits = model_->forward(input, positions, options).select(1, 0);  // (1, V)
      ++forward_calls_;
      int64_t token = 0;
      if (sampling.greedy()) {
        token = logits.argmax(-1).item<int64_t>();
      } else {
        probs.push_back(probabilities(logits, sampling));
        token = sample_from(probs.back(), generator).item<int64_t>();
      }
      draft.tokens.push_back(token);
      if (i + 1 == count) break;
      input = torch::full({1, 1}, token, torch::TensorOptions().dtype(torch::kInt64).device(model_->device()));
      positions = torch::full({1, 1}, length + i, torch::TensorOptions().dtype(torch::kInt64).device(model_->device()));
    }
    if (!probs.empty()) draft.probs = torch::cat(probs, 0);  // (k, V)
    seconds_ += watch.seconds();
    return draft;
  }

  void rollback(int64_t length) override {
    if (cache_) cache_->keep(length);
  }

  std::optional<int64_t> vocab_size() const override { return model_->config().vocab_size; }
  std::string describe() const override {
    return "draft model (" + model_->config().model_type + ", " + std::to_string(model_->config().num_layers) +
           " layers)";
  }

 private:
  std::shared_ptr<const Transformer> model_;
  std::optional<KvCache> cache_;
};

// Hugging Face's prompt lookup: for n from max_ngram down to min_ngram, find the earliest earlier
// occurrence of the context's last n tokens and propose what followed it.
class PromptLookupDraft : public DraftSource {
 public:
  explicit PromptLookupDraft(PromptLookup config) : config_(config) {
    check(config_.min_ngram >= 1 && config_.max_ngram >= config_.min_ngram,
          "prompt lookup: need 1 <= min_ngram <= max_ngram, got min ", config_.min_ngram, ", max ", config_.max_ngram);
  }

  void begin(int64_t) override {
    forward_calls_ = 0;
    seconds_ = 0.0;
  }

  Draft propose(const std::vector<int64_t>& context, int64_t count, const SamplingParams&, at::Generator&) override {
    Stopwatch watch;
    Draft draft;
    const int64_t length = static_cast<int64_t>(context.size());
    for (int64_t n = std::min(config_.max_ngram, length - 1); n >= config_.min_ngram && count > 0; --n) {
      const auto pattern = context.begin() + (length - n);
      // Windows starting at s < length - n: the last window is the pattern itself.
      for (int64_t start = 0; start < length - n; ++start) {
        if (!std::equal(pattern, context.end(), context.begin() + start)) continue;
        const int64_t from = start + n;
        const int64_t to = std::min(from + count, length);
        draft.tokens.assign(context.begin() + from, context.begin() + to);
        seconds_ += watch.seconds();
        return draft;
      }
    }
    seconds_ += watch.seconds();
    return draft;
  }

  void rollback(int64_t) override {}
  std::optional<int64_t> vocab_size() const override { return std::nullopt; }
  std::string describe() const override {
    return "prompt lookup (n-gram " + std::to_string(config_.min_ngram) + ".." + std::to_string(config_.max_ngram) +
           ")";
  }

 private:
  PromptLookup config_;
};

}  // namespace

std::unique_ptr<DraftSource> make_draft_source(const DraftSpec& spec) {
  struct Build {
    std::unique_ptr<DraftSource> operator()(const DraftModel& model) const {
      check(model.model != nullptr, "speculative decoding: the draft model is missing");
      if (model.model->config().masked_diffusion()) return make_diffusion_draft(model.model, model.diffusion_steps);
      return std::make_unique<ModelDraft>(model.model);
    }
    std::unique_ptr<DraftSource> operator()(const PromptLookup& lookup) const {
      return std::make_unique<PromptLookupDraft>(lookup);
    }
  };
  return std::visit(Build{}, spec);
}

}  // namespace stepwise
