// The shared decoder-only transformer: token embedding, N blocks of (RMSNorm, GQA attention with RoPE,
// optional q/k/v bias and per-head q/k RMSNorm, RMSNorm, SwiGLU MLP), final RMSNorm, LM head.
// It holds weights only: KV caches, RNGs and decoding state belong to the decoders, so one loaded
// model can serve AR, speculative (as target or draft) and diffusion decoding at once.
// Logits are always returned raw (unshifted) in float32; decoders apply Dream's shift themselves.
// A linear weight may be replaced by a group-quantized one (set_group_quantized): the CPU kernels then
// read it as int8 / int4 for small products, and the weight tensor holds its dequantized values.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor/attention.h"
#include "core/tensor/kv_cache.h"
#include "models/transformer_config.h"

namespace stepwise {

class PackedLinears;          // models/packed_linear.h
struct GroupQuantizedMatrix;  // models/group_quantized.h

struct LayerWeights {
  torch::Tensor input_norm;      // (H)
  torch::Tensor q_proj, k_proj, v_proj, o_proj;  // (heads*D, H), (kv*D, H), (kv*D, H), (H, heads*D)
  torch::Tensor q_bias, k_bias, v_bias, o_bias;  // (heads*D), (kv*D), (kv*D), (H) or undefined
  torch::Tensor q_norm, k_norm;  // (D) or undefined (Qwen3)
  torch::Tensor post_norm;       // (H)
  torch::Tensor gate_proj, up_proj, down_proj;  // (I, H), (I, H), (H, I)
  torch::Tensor gate_bias, up_bias, down_bias;  // (I), (I), (H) or undefined
};

struct TransformerWeights {
  torch::Tensor embed_tokens;  // (V, H)
  std::vector<LayerWeights> layers;
  torch::Tensor final_norm;    // (H)
  torch::Tensor lm_head;       // (V, H); the same tensor as embed_tokens when tied
};

// What one forward pass should do besides the token computation.
struct ForwardOptions {
  AttentionSpec attention;  // which keys each query sees (and key padding over all key slots)
  // With a cache: new K/V are written at slots [write_start, write_start + T) where write_start
  // defaults to cache->length() (append); queries attend over slots [0, max(length, write_start + T)),
  // which the cache's writes make its new length. A write_start below the length overwrites slots in
  // place (a recomputed block, a prefill after loaded prefixes). Without a cache the T tokens attend
  // only to each other.
  KvCache* cache = nullptr;
  std::optional<int64_t> cache_write_start;
  // Logits only at these positions (B, K) int64 indices into the T inputs; nullopt = every position.
  std::optional<torch::Tensor> logits_at;
  bool last_position_only = false;  // shorthand for logits_at = T-1 in every row
};

class Transformer {
 public:
  Transformer(TransformerConfig config, TransformerWeights weights);

  const TransformerConfig& config() const { return config_; }
  torch::ScalarType dtype() const { return weights_.embed_tokens.scalar_type(); }
  torch::Device device() const { return weights_.embed_tokens.device(); }

  // tokens (B, T) int64 in [0, vocab_size), positions (B, T) int64 -> logits (B, T | K, V) float32.
  // Token ids are the caller's to check where they enter (check_token_ids): the forward never waits
  // for the device.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                        const ForwardOptions& options = {}) const;
  // Hidden states after the final norm, (B, T, H) in the compute dtype (same options; logits_at ignored).
  torch::Tensor hidden_states(const torch::Tensor& tokens, const torch::Tensor& positions,
                              const ForwardOptions& options = {}) const;

  // Block-wise access for quantization: the input of the first block (token embeddings (B, T) ->
  // (B, T, H) in the compute dtype), block `index`'s weights, and one block applied to hidden states
  // x (B, T, H) -> (B, T, H) with `weights` in place of its own, without a cache; positions (B or 1, T).
  // Gradients flow to `weights` (AutoRound trains their rounding through it).
  torch::Tensor embed(const torch::Tensor& tokens) const;
  const LayerWeights& layer(int64_t index) const;
  torch::Tensor block_forward(const LayerWeights& weights, const torch::Tensor& x, const torch::Tensor& positions,
                              const AttentionSpec& attention) const;

  // A KV cache shaped for this model.
  KvCache make_cache(int64_t batch, int64_t capacity) const;

  // Makes the linear weight `hf_tensor_name` (a q/k/v/o/gate/up/down projection, the untied lm_head
  // or the embedding, which a tied head shares) the group-quantized `matrix`. Products of up to
  // kernels::kMaxRows rows on the CPU run on the int8 / int4 kernels; larger ones (prefill, training,
  // full diffusion canvases) on LibTorch over the dequantized values, which replace the weight tensor
  // once here in the model's dtype and device (so the model holds both: the packed matrix, about 1.1 /
  // 0.6 bytes per weight, and the dense copy). Throws stepwise::Error naming the tensor for an unknown
  // name, a shape other than the weight's, or an inconsistent matrix (check_group_quantized).
  void set_group_quantized(const std::string& hf_tensor_name, const GroupQuantizedMatrix& matrix);
  // The weights the CPU kernels read (models/packed_linear.h).
  const PackedLinears& packed_linears() const;

  int64_t parameter_count() const;
  // Every weight under its Hugging Face name (tied lm_head omitted), sharing storage with the model:
  // training sets requires_grad on these and optimizers update them in place.
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const;

 private:
  torch::Tensor attention_block(const LayerWeights& layer, int64_t layer_index, const torch::Tensor& x,
                                const torch::Tensor& cos, const torch::Tensor& sin,
                                const ForwardOptions& options, int64_t write_start) const;
  torch::Tensor mlp_block(const LayerWeights& layer, const torch::Tensor& x) const;
  // Rotary tables (B, 1, T, D) cos and sin in the compute dtype for positions (B, T).
  std::pair<torch::Tensor, torch::Tensor> rotary_tables(const torch::Tensor& positions) const;
  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  // x (..., K) · weightᵀ (N, K) + bias -> (..., N): the project's kernels or LibTorch (models/packed_linear.h).
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) const;
  // The slot of a linear weight (or the embedding) by Hugging Face name; nullptr if there is none.
  torch::Tensor* linear_weight_slot(const std::string& name);

  TransformerConfig config_;
  TransformerWeights weights_;
  torch::Tensor inv_freq_;  // (D/2) float32
  // The kernels' view of the linear weights: bfloat16 ones are read in place, group-quantized ones
  // packed. Shared by copies of the model; replaced (never changed) when a weight is quantized.
  std::shared_ptr<const PackedLinears> packed_linears_;
};

}  // namespace stepwise
