// Denoising forward passes: shift, guidance and the block-wise approximate KV cache.
#include "decoders/diffusion/canvas_forward.h"

#include <torch/torch.h>

#include <algorithm>

#include "decoders/prefix_reuse.h"

namespace stepwise {
namespace {

// (rows, n) -> (2 rows, n): the conditional rows followed by the unconditional ones.
torch::Tensor twice(const torch::Tensor& x) { return torch::cat({x, x}, 0); }

}  // namespace

CanvasForward::CanvasForward(const Denoiser& model, const Canvas& canvas, CacheMode mode,
                             std::optional<double> cfg_scale, const PrefixReuse* reuse)
    : model_(model), mode_(mode), cfg_scale_(cfg_scale), shift_(model.config().shift_logits),
      reuse_(mode == CacheMode::kNone || cfg_scale ? nullptr : reuse) {
  if (mode_ != CacheMode::kNone) {
    const int64_t batch = canvas.rows() * (cfg_scale_ ? 2 : 1);
    cache_.emplace(model_.make_cache(batch, canvas.width()));
  }
}

torch::Tensor CanvasForward::logits(const Canvas& canvas, const torch::Tensor& columns, int64_t begin, int64_t end,
                                    bool refresh) {
  TORCH_INTERNAL_ASSERT(begin >= 0 && begin < end && end <= canvas.width());
  TORCH_INTERNAL_ASSERT(columns.dim() == 2 && columns.size(0) == canvas.rows());
  const int64_t width = canvas.width();
  const bool partial = cache_.has_value() && !refresh;

  // Which canvas columns go in: [feed_begin, feed_end).
  int64_t feed_begin = 0, feed_end = width;
  ForwardOptions options;
  options.attention = AttentionSpec::bidirectional();
  if (cache_) {
    options.cache = &*cache_;
    if (!partial) {
      cache_->clear();
      if (reuse_ && initial_) feed_begin = load_initial_prompts(canvas);
      options.cache_write_start = feed_begin;
    } else {
      feed_begin = std::max<int64_t>(begin - (shift_ ? 1 : 0), 0);
      if (mode_ == CacheMode::kPrefix) {
        cache_->keep(feed_begin);  // keys [feed_begin, W) are recomputed; the prefix stays
      } else {
        feed_end = end;  // dual: only the block is recomputed; prefix and suffix stay
        options.cache_write_start = feed_begin;
      }
    }
  }
  // Queries attend over all W key slots in every mode, so the key padding covers the whole canvas.
  torch::Tensor tokens = canvas.tokens.narrow(1, feed_begin, feed_end - feed_begin);        // (B, T)
  torch::Tensor positions = canvas.positions.narrow(1, feed_begin, feed_end - feed_begin);  // (B, T)
  std::optional<torch::Tensor> key_padding = canvas.key_padding;                            // (B, W)
  if (cfg_scale_) {
    torch::Tensor unconditional = canvas.tokens.masked_fill(canvas.prompt, canvas.mask_id);
    tokens = torch::cat({tokens, unconditional.narrow(1, feed_begin, feed_end - feed_begin)}, 0);  // (2B, T)
    positions = twice(positions);
    if (key_padding) key_padding = twice(*key_padding);
  }
  options.attention.key_padding = key_padding;

  // Column j reads raw output j - 1 under the shift (column 0 keeps its own).
  torch::Tensor outputs = shift_ ? (columns - 1).clamp_min(0) : columns;  // (B, K)
  outputs = outputs - feed_begin;
  options.logits_at = cfg_scale_ ? twice(outputs) : outputs;  // (B | 2B, K)

  torch::Tensor logits = model_.forward(tokens, positions, options);  // (B | 2B, K, V) float32
  const int64_t passes = cfg_scale_ ? 2 : 1;
  forward_calls_ += passes;
  (partial ? partial_forwards_ : full_forwards_) += 1;
  last_tokens_fed_ = feed_end - feed_begin;
  if (initial_ && reuse_) store_initial_prompts();
  initial_ = false;
  if (!cfg_scale_) return logits;
  const int64_t rows = canvas.rows();
  torch::Tensor conditional = logits.narrow(0, 0, rows);
  torch::Tensor unconditional = logits.narrow(0, rows, rows);
  return unconditional + (*cfg_scale_ + 1.0) * (conditional - unconditional);
}

int64_t CanvasForward::load_initial_prompts(const Canvas& canvas) {
  const int64_t width = canvas.width();
  const torch::Tensor prompt_lengths = canvas.prompt.sum(1).to(torch::kCPU);  // (B)
  const torch::Tensor tokens = canvas.tokens.to(torch::kCPU);                // (B, W)
  int64_t feed_begin = std::max<int64_t>(canvas.gen_start - (shift_ ? 1 : 0), 0);
  for (int64_t r = 0; r < canvas.rows(); ++r) {
    const int64_t length = prompt_lengths[r].item<int64_t>();
    if (length == 0) continue;
    const int64_t start = canvas.gen_start - length;
    const torch::Tensor row = tokens[r].narrow(0, start, width - start).contiguous();  // (W - start)
    const Hash128 key = reuse_->canvas_key(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()));
    std::optional<KvBlock> block = reuse_->find_canvas(key);
    if (block && block->tokens() == length) {
      const torch::Device device = model_.device();
      cache_->load_row_span(r, start, block->keys.to(device), block->values.to(device));
      reused_prompt_tokens_ += length;
    } else {
      pending_.push_back({r, start, length, key});
      feed_begin = std::min(feed_begin, start);
    }
  }
  return feed_begin;
}

void CanvasForward::store_initial_prompts() {
  for (const PendingStore& entry : pending_) {
    auto [keys, values] = cache_->copy_row_span(entry.row, entry.start, entry.length);
    reuse_->store_canvas(entry.key, KvBlock{keys, values});
  }
  pending_.clear();
}

}  // namespace stepwise
