// Settings of the block-diffusion decoder (torch-free): blocks of `block_length` positions, aligned to
// each row's token positions, decoded left to right under block-causal attention (causal between
// blocks, bidirectional inside one); inside a block, sub-blocks decoded left to right (Fast-dLLM v2);
// commitment by a fixed count per step (a reveal schedule over `steps_per_block`) or by a confidence
// threshold; and the KV cache mode. Every choice is explicit; validate() checks the combinations once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/tensor/sampling_params.h"
#include "decoders/diffusion/diffusion_config.h"

namespace stepwise {

// What the block decoder keeps between forwards.
enum class BlockCacheMode {
  kNone,   // every forward feeds the whole canvas (the reference)
  kBlock,  // finished blocks stay in the KV cache; a forward feeds only the current block (exact)
  kDual,   // also the current block's keys: after a refresh at a sub-block's first step, later steps
           // feed only the sub-block against the cached block (Fast-dLLM v2's sub-block cache; approximate)
};

struct BlockDiffusionConfig {
  int64_t block_length = 32;
  std::optional<int64_t> sub_block_length;  // divides block_length; nullopt = the whole block
  // Fixed-count commitment: forward passes per block, split evenly over its sub-blocks, each sub-block's
  // reveals planned by `schedule`. Exactly one of steps_per_block and threshold.
  std::optional<int64_t> steps_per_block;
  // Fast-dLLM: commit every masked sub-block position whose confidence >= threshold, and at least the
  // most confident one; a sub-block runs until it has no mask left.
  std::optional<double> threshold;
  Schedule schedule = Schedule::kDreamTimeGrid;
  Selection selection = Selection::kEntropy;
  double eps = 1e-3;
  std::optional<double> alg_temp;
  BlockCacheMode cache = BlockCacheMode::kBlock;
  SamplingParams sampling;

  int64_t sub_block() const { return sub_block_length.value_or(block_length); }
  int64_t sub_blocks_per_block() const { return block_length / sub_block(); }
  // Forwards a sub-block may take: its share of steps_per_block, or its length under a threshold.
  int64_t steps_per_sub_block() const {
    return threshold ? sub_block() : *steps_per_block / sub_blocks_per_block();
  }
  // The same choice of tokens and positions as a DiffusionConfig (for the shared selection code).
  DiffusionConfig selection_config() const;
};

// Throws stepwise::Error naming the offending setting.
void validate(const BlockDiffusionConfig& config);

std::string to_string(BlockCacheMode mode);
// Parses the names to_string() prints; errors list the accepted names.
BlockCacheMode parse_block_cache_mode(const std::string& name);

}  // namespace stepwise
