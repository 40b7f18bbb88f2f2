// Block-diffusion forwards: one window function per cache mode, then one block-causal forward.
#include "decoders/diffusion/block_forward.h"

#include <torch/torch.h>

#include <algorithm>

namespace stepwise {

BlockForward::BlockForward(const Denoiser& model, const BlockCanvas& canvas, BlockCacheMode mode)
    : model_(model), mode_(mode), shift_(model.config().shift_logits) {
  if (mode_ != BlockCacheMode::kNone) cache_.emplace(model_.make_cache(canvas.rows(), canvas.width()));
}

int64_t BlockForward::feed_begin(int64_t column) const { return std::max<int64_t>(column - (shift_ ? 1 : 0), 0); }

BlockForward::Window BlockForward::window_without_cache(const BlockCanvas& canvas) const {
  return {0, canvas.width(), false};
}

BlockForward::Window BlockForward::window_block_cache(const BlockStepSpan& span) const {
  // Everything not yet cached in its final form, through the end of the current block.
  return {std::min(final_end_, feed_begin(span.sub_begin)), span.block_end, false};
}

BlockForward::Window BlockForward::window_dual_cache(const BlockStepSpan& span) const {
  if (span.first_step_of_sub_block) return window_block_cache(span);
  // After the refresh the prefix and the rest of the block are cached: only the sub-block is recomputed.
  return {feed_begin(span.sub_begin), span.sub_end, true};
}

torch::Tensor BlockForward::logits(const BlockCanvas& canvas, const torch::Tensor& columns,
                                   const BlockStepSpan& span) {
  TORCH_INTERNAL_ASSERT(span.block_begin <= span.sub_begin && span.sub_begin < span.sub_end &&
                        span.sub_end <= span.block_end && span.block_end <= canvas.width());
  TORCH_INTERNAL_ASSERT(columns.dim() == 2 && columns.size(0) == canvas.rows());
  Window window{0, 0, false};
  switch (mode_) {
    case BlockCacheMode::kNone:
      window = window_without_cache(canvas);
      break;
    case BlockCacheMode::kBlock:
      window = window_block_cache(span);
      break;
    case BlockCacheMode::kDual:
      window = window_dual_cache(span);
      break;
  }
  const int64_t fed = window.end - window.begin;
  ForwardOptions options;
  options.attention.kind = AttentionKind::kBlockCausal;
  options.attention.block_size = canvas.block_length;
  int64_t key_count = fed;  // without a cache the fed columns attend to each other
  if (cache_) {
    options.cache = &*cache_;
    options.cache_write_start = window.begin;
    key_count = std::max(cache_->length(), window.end);
  }
  if (canvas.key_padding) options.attention.key_padding = canvas.key_padding->narrow(1, 0, key_count);
  // Column j reads raw output j - 1 under the shift (padding entries of `columns` may sit at column 0).
  torch::Tensor outputs = (shift_ ? (columns - 1).clamp_min(0) : columns) - window.begin;  // (B, K)
  options.logits_at = outputs;
  torch::Tensor logits = model_.forward(canvas.tokens.narrow(1, window.begin, fed),
                                        canvas.positions.narrow(1, window.begin, fed), options);  // (B, K, V)
  ++forward_calls_;
  (window.partial ? partial_forwards_ : full_forwards_) += 1;
  last_tokens_fed_ = fed;
  tokens_fed_ += fed;
  // Every block before the current one is finished and was fed whole by now.
  if (cache_ && !window.partial) final_end_ = std::max(final_end_, span.block_begin);
  return logits;
}

}  // namespace stepwise
