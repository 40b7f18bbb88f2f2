// Reference attention: grouped heads as a batched matmul without repeating K/V.
#include "core/tensor/attention.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace stepwise {

torch::Tensor visibility_mask(const AttentionSpec& spec, int64_t query_count, int64_t key_count, int64_t query_offset,
                              const torch::Device& device) {
  auto index_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  torch::Tensor mask;  // (T, S) or undefined = all visible
  if (spec.kind != AttentionKind::kBidirectional) {
    torch::Tensor query_slot = torch::arange(query_offset, query_offset + query_count, index_options).unsqueeze(1);
    torch::Tensor key_slot = torch::arange(key_count, index_options).unsqueeze(0);
    if (spec.kind == AttentionKind::kCausal) {
      mask = key_slot <= query_slot;
    } else {
      TORCH_CHECK(spec.block_size > 0, "block-causal attention needs block_size > 0");
      mask = key_slot.div(spec.block_size, "floor") <= query_slot.div(spec.block_size, "floor");
    }
  }
  torch::Tensor full = mask.defined() ? mask.view({1, 1, query_count, key_count})
                                      : torch::ones({1, 1, query_count, key_count},
                                                    torch::TensorOptions().dtype(torch::kBool).device(device));
  if (spec.key_padding.has_value()) {
    const torch::Tensor& padding = *spec.key_padding;  // (B, S)
    TORCH_CHECK(padding.dim() == 2 && padding.size(1) == key_count, "key_padding must be (B, ", key_count,
                "), got ", padding.sizes());
    full = full & padding.to(device, torch::kBool).view({padding.size(0), 1, 1, key_count});
  }
  return full;
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionSpec& spec, int64_t query_offset) {
  const int64_t batch = q.size(0), heads = q.size(1), queries = q.size(2), head_dim = q.size(3);
  const int64_t kv_heads = k.size(1), keys = k.size(2);
  TORCH_INTERNAL_ASSERT(heads % kv_heads == 0);
  const int64_t group = heads / kv_heads;
  // (B, H_kv, G*T, D): the G query heads that share one KV head are stacked along the query axis.
  torch::Tensor grouped_q = q.reshape({batch, kv_heads, group * queries, head_dim});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  torch::Tensor scores = torch::matmul(grouped_q, k.transpose(2, 3)).to(torch::kFloat32).mul_(scale);
  scores = scores.view({batch, kv_heads, group, queries, keys});  // (B, H_kv, G, T, S)

  // Causal queries that sit at or after the last key (a decode step) see every key: no mask needed.
  const bool sees_all_keys = spec.kind == AttentionKind::kBidirectional ||
                             (spec.kind == AttentionKind::kCausal && keys <= query_offset + 1);
  const bool needs_mask = !sees_all_keys || spec.key_padding.has_value();
  if (needs_mask) {
    torch::Tensor mask = visibility_mask(spec, queries, keys, query_offset, q.device());  // (B|1, 1, T, S)
    mask = mask.unsqueeze(1);                                                                // (B|1, 1, 1, T, S)
    scores.masked_fill_(mask.logical_not(), std::numeric_limits<float>::lowest());
  }
  torch::Tensor probs = torch::softmax(scores, -1).to(q.scalar_type());
  torch::Tensor out = torch::matmul(probs.view({batch, kv_heads, group * queries, keys}), v);  // (B, H_kv, G*T, D)
  return out.view({batch, heads, queries, head_dim});
}

}  // namespace stepwise
