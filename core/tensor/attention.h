// Scaled dot-product attention with grouped-query heads and the masks the decoders need:
// causal, bidirectional and block-causal, each combined with an optional key-padding mask.
// The mask is described, not materialised by callers: AttentionSpec says which keys a query may see.
// Scores and softmax run in float32 whatever the compute dtype; fully masked rows (left-padding
// queries) get a uniform distribution rather than NaN so they never poison other rows.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

namespace stepwise {

enum class AttentionKind { kCausal, kBidirectional, kBlockCausal };

struct AttentionSpec {
  AttentionKind kind = AttentionKind::kCausal;
  int64_t block_size = 0;                    // for kBlockCausal: key j is visible to query i iff j/bs <= i/bs
  std::optional<torch::Tensor> key_padding;  // (B, S) bool over all key slots: true = real token

  static AttentionSpec causal() { return {}; }
  static AttentionSpec bidirectional() { return {AttentionKind::kBidirectional, 0, std::nullopt}; }
};

// q (B, H, T, D); k, v (B, H_kv, S, D) with H % H_kv == 0. Query t sits at key slot query_offset + t.
// Returns (B, H, T, D) in q's dtype.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionSpec& spec, int64_t query_offset);

// Boolean visibility mask (B or 1, 1, T, S): true where query t may attend key s.
torch::Tensor visibility_mask(const AttentionSpec& spec, int64_t query_count, int64_t key_count, int64_t query_offset,
                              const torch::Device& device);

}  // namespace stepwise
