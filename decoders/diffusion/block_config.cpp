// Names and validation of the block-diffusion decoder settings (torch-free).
#include "decoders/diffusion/block_config.h"

#include "core/error.h"

namespace stepwise {

DiffusionConfig BlockDiffusionConfig::selection_config() const {
  DiffusionConfig config;
  config.steps = threshold ? sub_block() : steps_per_sub_block();
  config.schedule = schedule;
  config.selection = selection;
  config.eps = eps;
  config.threshold = threshold;
  config.alg_temp = alg_temp;
  config.sampling = sampling;
  return config;
}

void validate(const BlockDiffusionConfig& config) {
  check(config.block_length >= 1, "block_diffusion: block_length must be >= 1, got ", config.block_length);
  if (config.sub_block_length) {
    const int64_t sub = *config.sub_block_length;
    check(sub >= 1 && config.block_length % sub == 0, "block_diffusion: sub_block_length ", sub,
          " must be >= 1 and divide block_length ", config.block_length);
  }
  check(config.steps_per_block.has_value() != config.threshold.has_value(),
        "block_diffusion: give exactly one of steps_per_block (fixed-count commitment) or threshold");
  if (config.steps_per_block) {
    const int64_t steps = *config.steps_per_block;
    check(steps >= 1 && steps % config.sub_blocks_per_block() == 0, "block_diffusion: steps_per_block ", steps,
          " must be >= 1 and split evenly over the ", config.sub_blocks_per_block(), " sub-blocks of a block");
  }
  if (config.threshold) check(*config.threshold <= 1.0, "block_diffusion: threshold must be in (0, 1]");
  if (config.cache == BlockCacheMode::kDual)
    check(config.sub_block_length.has_value() && config.sub_block() < config.block_length,
          "block_diffusion: cache 'dual' caches the block around a sub-block; set sub_block_length below "
          "block_length");
  validate(config.selection_config());  // selection, schedule, sampling and their combinations
}

std::string to_string(BlockCacheMode mode) {
  switch (mode) {
    case BlockCacheMode::kNone:
      return "none";
    case BlockCacheMode::kBlock:
      return "block";
    case BlockCacheMode::kDual:
      return "dual";
  }
  return "?";
}

BlockCacheMode parse_block_cache_mode(const std::string& name) {
  for (BlockCacheMode m : {BlockCacheMode::kNone, BlockCacheMode::kBlock, BlockCacheMode::kDual})
    if (name == to_string(m)) return m;
  fail("unknown block cache mode '", name, "' (expected none, block or dual)");
}

}  // namespace stepwise
