// Denoising forward passes: one window function per cache mode (none / prefix / dual), then one
// forward that applies the logit shift and classifier-free guidance to whatever window was chosen.
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
  switch (mode_) {
    case CacheMode::kNone:
      return forward(canvas, columns, window_without_cache(canvas));
    case CacheMode::kPrefix:
      return forward(canvas, columns, refresh ? refresh_cache(canvas) : window_prefix_cache(canvas, begin));
    case CacheMode::kDual:
      return forward(canvas, columns, refresh ? refresh_cache(canvas) : window_dual_cache(begin, end));
  }
  TORCH_INTERNAL_ASSERT(false, "unknown cache mode");
}

int64_t CanvasForward::block_feed_begin(int64_t begin) const {
  // Under the shift the block's first column reads the output of the column before it.
  return std::max<int64_t>(begin - (shift_ ? 1 : 0), 0);
}

CanvasForward::Window CanvasForward::window_without_cache(const Canvas& canvas) const {
  return {0, canvas.width(), false};
}

CanvasForward::Window CanvasForward::refresh_cache(const Canvas& canvas) {
  cache_->clear();
  const int64_t feed_begin = reuse_ && initial_ ? load_initial_prompts(canvas) : 0;
  return {feed_begin, canvas.width(), false};
}

CanvasForward::Window CanvasForward::window_prefix_cache(const Canvas& canvas, int64_t begin) {
  const int64_t feed_begin = block_feed_begin(begin);
  cache_->keep(feed_begin);  // keys [feed_begin, W) are recomputed; the prefix stays
  return {feed_begin, canvas.width(), true};
}

CanvasForward::Window CanvasForward::window_dual_cache(int64_t begin, int64_t end) const {
  // Only the block is recomputed, in place; prefix and suffix stay.
  return {block_feed_begin(begin), end, true};
}

torch::Tensor CanvasForward::forward(const Canvas& canvas, const torch::Tensor& columns, const Window& window) {
  const int64_t fed = window.end - window.begin;
  ForwardOptions options;
  options.attention = AttentionSpec::bidirectional();
  if (cache_) {
    options.cache = &*cache_;
    options.cache_write_start = window.begin;
  }
  // Queries attend over all W key slots in every mode, so the key padding covers the whole canvas.
  torch::Tensor tokens = canvas.tokens.narrow(1, window.begin, fed);        // (B, T)
  torch::Tensor positions = canvas.positions.narrow(1, window.begin, fed);  // (B, T)
  std::optional<torch::Tensor> key_padding = canvas.key_padding;            // (B, W)
  if (cfg_scale_) {
    // The unconditional rows: the same canvas with the prompt masked.
    torch::Tensor unconditional = canvas.tokens.masked_fill(canvas.prompt, canvas.mask_id);
    tokens = torch::cat({tokens, unconditional.narrow(1, window.begin, fed)}, 0);  // (2B, T)
    positions = twice(positions);
    if (key_padding) key_padding = twice(*key_padding);
  }
  options.attention.key_padding = key_padding;

  // Column j reads raw output j - 1 under the shift (column 0 keeps its own).
  torch::Tensor outputs = shift_ ? (columns - 1).clamp_min(0) : columns;  // (B, K)
  outputs = outputs - window.begin;
  options.logits_at = cfg_scale_ ? twice(outputs) : outputs;  // (B | 2B, K)

  torch::Tensor logits = model_.forward(tokens, positions, options);  // (B | 2B, K, V) float32
  forward_calls_ += cfg_scale_ ? 2 : 1;
  (window.partial ? partial_forwards_ : full_forwards_) += 1;
  last_tokens_fed_ = fed;
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
  int64_t feed_begin = block_feed_begin(canvas.gen_start);
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
