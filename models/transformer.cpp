// Transformer forward pass (HF-compatible arithmetic: RMSNorm in float32, RoPE as rotate_half).
#include "models/transformer.h"

#include <torch/torch.h>

#include <cctype>

#include "core/error.h"
#include "models/group_quantized.h"
#include "models/packed_linear.h"

namespace stepwise {
namespace {

torch::Tensor dense_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  // A single float32 row on the CPU (a batch-1 decode step) goes through gemv: BLAS gemm with M = 1 packs
  // the whole weight first and runs about 3x slower. Same operands and dtype; only the BLAS kernel differs.
  // (The LM head keeps gemm so that last-position logits equal the full forward's bit for bit.)
  const int64_t width = x.size(-1);
  if (x.numel() == width && x.scalar_type() == torch::kFloat32 && x.device().is_cpu()) {
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = weight.size(0);
    torch::Tensor row = x.reshape({width});
    return (bias.defined() ? torch::addmv(bias, weight, row) : torch::mv(weight, row)).view(shape);
  }
  return bias.defined() ? torch::linear(x, weight, bias) : torch::linear(x, weight);
}

// x (B, heads, T, D); cos, sin (B, 1, T, D)
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  torch::Tensor rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

}  // namespace

Transformer::Transformer(TransformerConfig config, TransformerWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  TORCH_INTERNAL_ASSERT(static_cast<int64_t>(weights_.layers.size()) == config_.num_layers);
  torch::Tensor exponent =
      torch::arange(0, config_.head_dim, 2, torch::TensorOptions().dtype(torch::kInt64)).to(torch::kFloat32) /
      static_cast<float>(config_.head_dim);
  inv_freq_ = (1.0 / torch::pow(torch::tensor(config_.rope_theta, torch::kFloat32), exponent)).to(device());
  std::vector<torch::Tensor> projections = {weights_.lm_head};
  for (const LayerWeights& layer : weights_.layers)
    projections.insert(projections.end(), {layer.q_proj, layer.k_proj, layer.v_proj, layer.o_proj, layer.gate_proj,
                                           layer.up_proj, layer.down_proj});
  packed_linears_ = PackedLinears::create(projections);
}

// Small CPU bfloat16 products run on the project's kernels (models/packed_linear.h), the rest on LibTorch.
torch::Tensor Transformer::linear(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias) const {
  if (std::optional<torch::Tensor> y = packed_linears_->linear(x, weight, bias)) return *y;
  return dense_linear(x, weight, bias);
}

torch::Tensor Transformer::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
  torch::Tensor wide = x.to(torch::kFloat32);
  torch::Tensor variance = wide.pow(2).mean(-1, /*keepdim=*/true);
  wide = wide * torch::rsqrt(variance + config_.rms_norm_eps);
  return weight * wide.to(x.scalar_type());
}

torch::Tensor Transformer::attention_block(const LayerWeights& layer, int64_t layer_index, const torch::Tensor& x,
                                           const torch::Tensor& cos, const torch::Tensor& sin,
                                           const ForwardOptions& options, int64_t write_start) const {
  const int64_t batch = x.size(0), length = x.size(1), head_dim = config_.head_dim;
  // (B, T, heads*D) -> (B, heads, T, D)
  torch::Tensor q = linear(x, layer.q_proj, layer.q_bias).view({batch, length, config_.num_heads, head_dim});
  torch::Tensor k = linear(x, layer.k_proj, layer.k_bias).view({batch, length, config_.num_kv_heads, head_dim});
  torch::Tensor v = linear(x, layer.v_proj, layer.v_bias).view({batch, length, config_.num_kv_heads, head_dim});
  if (layer.q_norm.defined()) {
    q = rms_norm(q, layer.q_norm);
    k = rms_norm(k, layer.k_norm);
  }
  q = apply_rope(q.transpose(1, 2), cos, sin);
  k = apply_rope(k.transpose(1, 2), cos, sin);
  v = v.transpose(1, 2);

  torch::Tensor keys = k, values = v;
  int64_t query_offset = 0;
  if (options.cache != nullptr) {
    std::tie(keys, values) = options.cache->write(layer_index, write_start, k, v);
    query_offset = write_start;
  }
  torch::Tensor context = attention(q, keys, values, options.attention, query_offset);  // (B, heads, T, D)
  context = context.transpose(1, 2).reshape({batch, length, config_.num_heads * head_dim});
  return linear(context, layer.o_proj, layer.o_bias);
}

torch::Tensor Transformer::mlp_block(const LayerWeights& layer, const torch::Tensor& x) const {
  torch::Tensor gate = torch::silu(linear(x, layer.gate_proj, layer.gate_bias));
  return linear(gate * linear(x, layer.up_proj, layer.up_bias), layer.down_proj, layer.down_bias);
}

torch::Tensor Transformer::hidden_states(const torch::Tensor& tokens, const torch::Tensor& positions,
                                         const ForwardOptions& options) const {
  TORCH_CHECK(tokens.dim() == 2 && positions.sizes() == tokens.sizes(), "tokens and positions must both be (B, T)");
  int64_t write_start = 0;
  if (options.cache != nullptr) {
    TORCH_CHECK(options.cache->batch() == tokens.size(0), "KV cache batch ", options.cache->batch(),
                " does not match input batch ", tokens.size(0));
    write_start = options.cache_write_start.value_or(options.cache->length());
  }
  // Token ids are not range-checked here: that would synchronise with the device twice per forward.
  // Callers check them once where they enter (check_token_ids in transformer_config.h).

  const auto [cos, sin] = rotary_tables(positions);
  torch::Tensor x = embed(tokens);  // (B, T, H)
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    const LayerWeights& layer = weights_.layers[static_cast<size_t>(i)];
    x = x + attention_block(layer, i, rms_norm(x, layer.input_norm), cos, sin, options, write_start);
    x = x + mlp_block(layer, rms_norm(x, layer.post_norm));
  }
  return rms_norm(x, weights_.final_norm);
}

// Computed in float32 like HF, then cast to the compute dtype.
std::pair<torch::Tensor, torch::Tensor> Transformer::rotary_tables(const torch::Tensor& positions) const {
  torch::Tensor angles = positions.to(device(), torch::kFloat32).unsqueeze(-1) * inv_freq_;  // (B, T, D/2)
  torch::Tensor table = torch::cat({angles, angles}, -1).unsqueeze(1);                  // (B, 1, T, D)
  return {table.cos().to(dtype()), table.sin().to(dtype())};
}

torch::Tensor Transformer::embed(const torch::Tensor& tokens) const {
  return torch::embedding(weights_.embed_tokens, tokens.to(device()));
}

const LayerWeights& Transformer::layer(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < config_.num_layers, "layer ", index, " is outside [0, ", config_.num_layers, ")");
  return weights_.layers[static_cast<size_t>(index)];
}

torch::Tensor Transformer::block_forward(const LayerWeights& weights, const torch::Tensor& x,
                                         const torch::Tensor& positions, const AttentionSpec& attention) const {
  const auto [cos, sin] = rotary_tables(positions);
  ForwardOptions options;
  options.attention = attention;
  torch::Tensor h = x + attention_block(weights, 0, rms_norm(x, weights.input_norm), cos, sin, options, 0);
  return h + mlp_block(weights, rms_norm(h, weights.post_norm));
}

torch::Tensor Transformer::forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                                   const ForwardOptions& options) const {
  torch::Tensor hidden = hidden_states(tokens, positions, options);  // (B, T, H)
  if (options.last_position_only) {
    hidden = hidden.narrow(1, hidden.size(1) - 1, 1);
  } else if (options.logits_at.has_value()) {
    const torch::Tensor& index = *options.logits_at;  // (B, K)
    TORCH_CHECK(index.dim() == 2 && index.size(0) == hidden.size(0), "logits_at must be (B, K)");
    hidden = hidden.gather(1, index.to(device()).unsqueeze(-1).expand({-1, -1, hidden.size(2)}));
  }
  if (std::optional<torch::Tensor> logits = packed_linears_->linear(hidden, weights_.lm_head, {}))
    return logits->to(torch::kFloat32);
  return torch::linear(hidden, weights_.lm_head).to(torch::kFloat32);
}

torch::Tensor* Transformer::linear_weight_slot(const std::string& name) {
  if (name == "model.embed_tokens.weight") return &weights_.embed_tokens;
  if (name == "lm_head.weight") return config_.tie_word_embeddings ? nullptr : &weights_.lm_head;
  const std::string prefix = "model.layers.";
  if (name.compare(0, prefix.size(), prefix) != 0) return nullptr;
  size_t end = prefix.size();
  while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
  if (end == prefix.size() || end == name.size() || name[end] != '.' || end - prefix.size() > 6) return nullptr;
  const int64_t index = std::stoll(name.substr(prefix.size(), end - prefix.size()));
  if (index >= config_.num_layers) return nullptr;
  LayerWeights& layer = weights_.layers[static_cast<size_t>(index)];
  const std::string suffix = name.substr(end + 1);
  if (suffix == "self_attn.q_proj.weight") return &layer.q_proj;
  if (suffix == "self_attn.k_proj.weight") return &layer.k_proj;
  if (suffix == "self_attn.v_proj.weight") return &layer.v_proj;
  if (suffix == "self_attn.o_proj.weight") return &layer.o_proj;
  if (suffix == "mlp.gate_proj.weight") return &layer.gate_proj;
  if (suffix == "mlp.up_proj.weight") return &layer.up_proj;
  if (suffix == "mlp.down_proj.weight") return &layer.down_proj;
  return nullptr;
}

void Transformer::set_group_quantized(const std::string& hf_tensor_name, const GroupQuantizedMatrix& matrix) {
  torch::Tensor* slot = linear_weight_slot(hf_tensor_name);
  check(slot != nullptr, "set_group_quantized: '", hf_tensor_name, "' is not a linear weight of this model",
        hf_tensor_name == "lm_head.weight" ? " (the head is tied to model.embed_tokens.weight)" : "");
  check_group_quantized(matrix, hf_tensor_name);
  check(slot->size(0) == matrix.out_features && slot->size(1) == matrix.in_features, "group-quantized weight '",
        hf_tensor_name, "' is (", matrix.out_features, ", ", matrix.in_features, "), the model's is (", slot->size(0),
        ", ", slot->size(1), ")");
  std::vector<float> values = dequantize_group_quantized(matrix);  // (N, K)
  torch::Tensor dense = torch::from_blob(values.data(), {matrix.out_features, matrix.in_features}, torch::kFloat32)
                            .to(slot->options(), /*non_blocking=*/false, /*copy=*/true);
  const torch::Tensor replaced = *slot;
  const bool head = replaced.unsafeGetTensorImpl() == weights_.lm_head.unsafeGetTensorImpl();
  *slot = dense;
  if (head) weights_.lm_head = dense;  // a tied head is the embedding
  if (!dense.device().is_cpu()) return;  // the kernels run on the CPU only
  auto next = std::make_shared<PackedLinears>(*packed_linears_);  // copies of this model keep theirs
  next->set_quantized(dense, pack_group_quantized(matrix, hf_tensor_name), replaced);
  packed_linears_ = std::move(next);
}

const PackedLinears& Transformer::packed_linears() const { return *packed_linears_; }

KvCache Transformer::make_cache(int64_t batch, int64_t capacity) const {
  return KvCache(config_.num_layers, batch, config_.num_kv_heads, capacity, config_.head_dim,
                 torch::TensorOptions().dtype(dtype()).device(device()));
}

int64_t Transformer::parameter_count() const {
  int64_t total = 0;
  for (const auto& entry : named_parameters()) total += entry.second.numel();
  return total;
}

std::vector<std::pair<std::string, torch::Tensor>> Transformer::named_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto add = [&out](const std::string& name, const torch::Tensor& tensor) {
    if (tensor.defined()) out.emplace_back(name, tensor);
  };
  add("model.embed_tokens.weight", weights_.embed_tokens);
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const LayerWeights& layer = weights_.layers[i];
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    add(prefix + "input_layernorm.weight", layer.input_norm);
    add(prefix + "self_attn.q_proj.weight", layer.q_proj);
    add(prefix + "self_attn.k_proj.weight", layer.k_proj);
    add(prefix + "self_attn.v_proj.weight", layer.v_proj);
    add(prefix + "self_attn.o_proj.weight", layer.o_proj);
    add(prefix + "self_attn.q_proj.bias", layer.q_bias);
    add(prefix + "self_attn.k_proj.bias", layer.k_bias);
    add(prefix + "self_attn.v_proj.bias", layer.v_bias);
    add(prefix + "self_attn.o_proj.bias", layer.o_bias);
    add(prefix + "self_attn.q_norm.weight", layer.q_norm);
    add(prefix + "self_attn.k_norm.weight", layer.k_norm);
    add(prefix + "post_attention_layernorm.weight", layer.post_norm);
    add(prefix + "mlp.gate_proj.weight", layer.gate_proj);
    add(prefix + "mlp.up_proj.weight", layer.up_proj);
    add(prefix + "mlp.down_proj.weight", layer.down_proj);
    add(prefix + "mlp.gate_proj.bias", layer.gate_bias);
    add(prefix + "mlp.up_proj.bias", layer.up_bias);
    add(prefix + "mlp.down_proj.bias", layer.down_bias);
  }
  add("model.norm.weight", weights_.final_norm);
  if (!config_.tie_word_embeddings) add("lm_head.weight", weights_.lm_head);
  return out;
}

}  // namespace stepwise
