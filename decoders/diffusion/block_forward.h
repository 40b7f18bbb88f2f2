// One forward of the block-diffusion decoder under block-causal attention, returning logits for the
// columns a step decides on. Each cache mode chooses the columns a forward feeds in its own function:
//   none   the whole canvas every time (the reference);
//   block  the columns from the first one whose cached keys are not final up to the current block's
//          end: the previous block once (now finished: its keys become final and stay cached, as in AR
//          decoding), then only the current block; exact, since no finished block sees a later one;
//   dual   as block at the first step of every sub-block (a refresh of the whole block), then only the
//          sub-block, written in place, against the cached prefix and the rest of the block (stale:
//          approximate, exact for sub-blocks of one token and for one-layer models).
// Under Dream's logit shift (column j reads output j - 1) a window also feeds the column before its
// first decided one, so the first column of a block is read from the finished block before it.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "core/tensor/kv_cache.h"
#include "decoders/diffusion/block_canvas.h"
#include "decoders/diffusion/block_config.h"
#include "decoders/diffusion/denoiser.h"

namespace stepwise {

// Where a step is: the current block and sub-block (canvas columns, end exclusive).
struct BlockStepSpan {
  int64_t block_begin = 0;
  int64_t block_end = 0;
  int64_t sub_begin = 0;
  int64_t sub_end = 0;
  bool first_step_of_sub_block = true;
};

class BlockForward {
 public:
  BlockForward(const Denoiser& model, const BlockCanvas& canvas, BlockCacheMode mode);

  // Logits (B, K, V) float32 for the canvas columns (B, K) int64, all inside [span.sub_begin, span.sub_end).
  torch::Tensor logits(const BlockCanvas& canvas, const torch::Tensor& columns, const BlockStepSpan& span);

  int64_t forward_calls() const { return forward_calls_; }
  int64_t last_tokens_fed() const { return last_tokens_fed_; }  // columns fed per row, last call
  int64_t tokens_fed() const { return tokens_fed_; }            // columns fed per row, summed over calls
  int64_t full_forwards() const { return full_forwards_; }        // the whole current block (or canvas) fed
  int64_t partial_forwards() const { return partial_forwards_; }  // dual cache: only the sub-block fed

 private:
  struct Window {
    int64_t begin;  // first column fed (with a cache: first slot written)
    int64_t end;
    bool partial;   // dual cache: fed against cached keys of the rest of the block
  };
  Window window_without_cache(const BlockCanvas& canvas) const;
  Window window_block_cache(const BlockStepSpan& span) const;
  Window window_dual_cache(const BlockStepSpan& span) const;
  // The first column a window must feed for decisions from `column` on: one earlier under the shift.
  int64_t feed_begin(int64_t column) const;

  const Denoiser& model_;
  BlockCacheMode mode_;
  bool shift_;
  std::optional<KvCache> cache_;  // capacity = canvas width
  int64_t final_end_ = 0;         // cached keys of columns [0, final_end_) belong to finished blocks
  int64_t forward_calls_ = 0;
  int64_t full_forwards_ = 0;
  int64_t partial_forwards_ = 0;
  int64_t last_tokens_fed_ = 0;
  int64_t tokens_fed_ = 0;
};

}  // namespace stepwise
