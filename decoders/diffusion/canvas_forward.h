// One denoising forward over the canvas, returning logits for the columns a step decides on. Each cache
// mode chooses the window of columns a forward feeds, in its own function: none (the whole canvas every
// time), Fast-dLLM's prefix cache (a refresh fills the cache; later forwards feed [block_start:] against
// the cached prefix) and dual cache (later forwards feed only the block, in place, against the cached
// prefix and suffix); with Dream's logit shift (column j reads output j-1) the window also holds the
// token before the block, whose output predicts the block's first column. Classifier-free guidance
// (an unconditional pass with the prompt masked, run as 2B rows, counted as 2 NFE) applies to any window.
// With a PrefixReuse and a cache, the first refresh (the canvas still in its initial state) loads each
// row's prompt KV stored by an earlier decode of the same initial canvas and feeds only the rest; rows
// without a stored entry are fed whole and their prompt KV is stored (not with guidance).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/content_hash.h"
#include "core/tensor/kv_cache.h"
#include "decoders/diffusion/canvas.h"
#include "decoders/diffusion/denoiser.h"
#include "decoders/diffusion/diffusion_config.h"

namespace stepwise {

class PrefixReuse;

class CanvasForward {
 public:
  CanvasForward(const Denoiser& model, const Canvas& canvas, CacheMode mode, std::optional<double> cfg_scale,
                const PrefixReuse* reuse = nullptr);

  // Logits (B, K, V) float32 for the canvas columns (B, K) int64, all inside the block [begin, end).
  // `refresh` asks for a full forward that refills the cache; without it (and with a cache) only the
  // block's window is fed. Without a cache every call is a full forward.
  torch::Tensor logits(const Canvas& canvas, const torch::Tensor& columns, int64_t begin, int64_t end, bool refresh);

  int64_t forward_calls() const { return forward_calls_; }      // NFE (guidance counts 2 per call)
  int64_t last_tokens_fed() const { return last_tokens_fed_; }  // columns fed per row and pass, last call
  int64_t full_forwards() const { return full_forwards_; }
  int64_t partial_forwards() const { return partial_forwards_; }
  int64_t reused_prompt_tokens() const { return reused_prompt_tokens_; }  // summed over rows

 private:
  // The canvas columns [begin, end) one forward feeds (with a cache: written at slots [begin, end)).
  struct Window {
    int64_t begin;
    int64_t end;
    bool partial;  // fed against cached keys of the rest of the canvas
  };
  // One per cache mode; the refresh (a full forward that refills the cache) is shared by prefix and dual.
  Window window_without_cache(const Canvas& canvas) const;
  Window refresh_cache(const Canvas& canvas);
  Window window_prefix_cache(const Canvas& canvas, int64_t begin);
  Window window_dual_cache(int64_t begin, int64_t end) const;
  // The first column fed for a block starting at `begin`: one earlier under the shift.
  int64_t block_feed_begin(int64_t begin) const;
  // Feeds `window` (with the unconditional rows under guidance) and returns the logits at `columns`.
  torch::Tensor forward(const Canvas& canvas, const torch::Tensor& columns, const Window& window);

  // A row whose initial-canvas prompt KV is to be stored after the first refresh.
  struct PendingStore {
    int64_t row;
    int64_t start;   // first prompt column
    int64_t length;  // prompt tokens
    Hash128 key;
  };
  // Loads stored prompt KV for the initial canvas; returns the first column that must be fed.
  int64_t load_initial_prompts(const Canvas& canvas);
  void store_initial_prompts();

  const Denoiser& model_;
  CacheMode mode_;
  std::optional<double> cfg_scale_;
  bool shift_;
  std::optional<KvCache> cache_;  // batch B (2B with guidance), capacity = canvas width
  const PrefixReuse* reuse_;      // null: no reuse
  bool initial_ = true;           // no forward has run yet: the canvas is in its initial state
  std::vector<PendingStore> pending_;
  int64_t reused_prompt_tokens_ = 0;
  int64_t forward_calls_ = 0;
  int64_t full_forwards_ = 0;
  int64_t partial_forwards_ = 0;
  int64_t last_tokens_fed_ = 0;
};

}  // namespace stepwise
