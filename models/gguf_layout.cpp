// GGUF names and hyperparameter keys, as in llama.cpp's llama-arch.cpp and convert_hf_to_gguf.py.
#include "models/gguf_layout.h"

#include <cmath>
#include <utility>
#include <vector>

#include "core/error.h"

namespace stepwise {
namespace {

// Per-layer tensors: Hugging Face suffix after "model.layers.N." -> GGUF suffix after "blk.N.".
const std::vector<std::pair<std::string, std::string>>& layer_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.o_proj.bias", "attn_output.bias"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
      {"mlp.gate_proj.bias", "ffn_gate.bias"},
      {"mlp.up_proj.bias", "ffn_up.bias"},
      {"mlp.down_proj.bias", "ffn_down.bias"},
  };
  return names;
}

const std::vector<std::pair<std::string, std::string>>& global_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  return names;
}

// Splits "<prefix><digits>.<rest>" into the layer number and rest.
bool split_layer(const std::string& name, const std::string& prefix, std::string& layer, std::string& rest) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 4) return false;
  layer = name.substr(prefix.size(), dot - prefix.size());
  for (char c : layer)
    if (c < '0' || c > '9') return false;
  rest = name.substr(dot + 1);
  return true;
}

struct ArchitectureInfo {
  std::string model_type;    // TransformerConfig::model_type
  std::string architecture;  // Hugging Face class name
  bool bidirectional;
  bool shift_logits;         // default when the file does not say (diffusion.shift_logits)
};

std::optional<ArchitectureInfo> architecture_info(const std::string& arch) {
  if (arch == "qwen2") return ArchitectureInfo{"qwen2", "Qwen2ForCausalLM", false, false};
  if (arch == "qwen3") return ArchitectureInfo{"qwen3", "Qwen3ForCausalLM", false, false};
  if (arch == "llama") return ArchitectureInfo{"llama", "LlamaForCausalLM", false, false};
  if (arch == "dream") return ArchitectureInfo{"Dream", "DreamModel", true, true};
  if (arch == "llada") return ArchitectureInfo{"llama", "LLaDAModelLM", true, false};
  return std::nullopt;
}

}  // namespace

std::optional<std::string> gguf_tensor_name(const std::string& hf_name) {
  for (const auto& [hf, gguf] : global_names())
    if (hf == hf_name) return gguf;
  std::string layer, rest;
  if (!split_layer(hf_name, "model.layers.", layer, rest)) return std::nullopt;
  for (const auto& [hf, gguf] : layer_names())
    if (hf == rest) return "blk." + layer + "." + gguf;
  return std::nullopt;
}

std::optional<std::string> hf_tensor_name(const std::string& gguf_name) {
  for (const auto& [hf, gguf] : global_names())
    if (gguf == gguf_name) return hf;
  std::string layer, rest;
  if (!split_layer(gguf_name, "blk.", layer, rest)) return std::nullopt;
  for (const auto& [hf, gguf] : layer_names())
    if (gguf == rest) return "model.layers." + layer + "." + hf;
  return std::nullopt;
}

bool gguf_permutes_qk(const std::string& architecture) { return architecture == "llama" || architecture == "llada"; }

TransformerConfig gguf_transformer_config(const GgufFile& file) {
  const std::string& path = file.path();
  const std::string& arch = file.string("general.architecture");
  const auto info = architecture_info(arch);
  check(info.has_value(), path, ": key 'general.architecture' = '", arch,
        "' is not supported (supported: qwen2, qwen3, llama, dream, llada)");
  auto key = [&](const std::string& suffix) { return arch + "." + suffix; };

  TransformerConfig config;
  config.model_type = info->model_type;
  config.architecture = info->architecture;
  check(file.contains("token_embd.weight"), path, ": missing tensor 'token_embd.weight'");
  const GgufTensorInfo& embedding = file.tensor("token_embd.weight");
  check(embedding.dims.size() == 2, path, ": tensor 'token_embd.weight' has ", embedding.dims.size(),
        " dimensions, expected 2");
  config.vocab_size = embedding.dims[1];  // ggml order: (hidden, vocab)
  if (const auto declared = file.optional_integer(key("vocab_size")))
    check(*declared == config.vocab_size, path, ": key '", key("vocab_size"), "' = ", *declared,
          " disagrees with tensor 'token_embd.weight' (", config.vocab_size, " rows)");
  config.hidden_size = file.integer(key("embedding_length"));
  config.intermediate_size = file.integer(key("feed_forward_length"));
  config.num_layers = file.integer(key("block_count"));
  config.num_heads = file.integer(key("attention.head_count"));
  config.num_kv_heads = file.optional_integer(key("attention.head_count_kv")).value_or(config.num_heads);
  check(config.num_heads >= 1 && config.num_heads <= 1024, path, ": key '", key("attention.head_count"), "' = ",
        config.num_heads, " is out of range [1, 1024]");
  config.head_dim = file.optional_integer(key("attention.key_length")).value_or(config.hidden_size / config.num_heads);
  if (const auto value_length = file.optional_integer(key("attention.value_length")))
    check(*value_length == config.head_dim, path, ": key '", key("attention.value_length"), "' = ", *value_length,
          " differs from the key length ", config.head_dim, " (not supported)");
  if (const auto rope_dims = file.optional_integer(key("rope.dimension_count")))
    check(*rope_dims == config.head_dim, path, ": key '", key("rope.dimension_count"), "' = ", *rope_dims,
          " (partial rotary embeddings are not supported; head dim ", config.head_dim, ")");
  if (const auto scaling = file.optional_string(key("rope.scaling.type")))
    check(*scaling == "none", path, ": key '", key("rope.scaling.type"), "' = '", *scaling,
          "' (only plain RoPE is supported)");
  check(!file.contains("rope_freqs.weight"), path,
        ": tensor 'rope_freqs.weight' (RoPE frequency factors) is not supported (only plain RoPE)");
  config.max_position_embeddings = file.optional_integer(key("context_length")).value_or(32768);
  config.rope_theta = file.optional_real(key("rope.freq_base")).value_or(10000.0);
  config.rms_norm_eps = file.optional_real(key("attention.layer_norm_rms_epsilon")).value_or(1e-6);

  config.tie_word_embeddings = !file.contains("output.weight");
  config.attention_bias = file.contains("blk.0.attn_q.bias");
  config.output_bias = file.contains("blk.0.attn_output.bias");
  config.mlp_bias = file.contains("blk.0.ffn_gate.bias");
  config.qk_norm = file.contains("blk.0.attn_q_norm.weight");

  config.bidirectional = info->bidirectional;
  if (const auto causal = file.optional_boolean(key("attention.causal"))) config.bidirectional = !*causal;
  config.shift_logits = info->model_type == "Dream"
                            ? file.optional_boolean("diffusion.shift_logits").value_or(info->shift_logits)
                            : false;
  if (info->model_type != "Dream")
    check(!file.optional_boolean("diffusion.shift_logits").value_or(false), path,
          ": key 'diffusion.shift_logits' = true is supported only for dream");
  config.mask_token_id = file.optional_integer("tokenizer.ggml.mask_token_id");
  config.bos_token_id = file.optional_integer("tokenizer.ggml.bos_token_id");
  config.pad_token_id = file.optional_integer("tokenizer.ggml.padding_token_id");
  for (const char* eos_key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"}) {
    const auto id = file.optional_integer(eos_key);
    if (!id) continue;
    check(*id >= 0 && *id < config.vocab_size, path, ": key '", eos_key, "' = ", *id, " is outside the vocabulary");
    bool known = false;
    for (int64_t existing : config.eos_token_ids) known = known || existing == *id;
    if (!known) config.eos_token_ids.push_back(*id);
  }
  const GgmlType stored = embedding.type;
  config.stored_dtype = stored == GgmlType::kF32    ? "float32"
                        : stored == GgmlType::kF16  ? "float16"
                        : stored == GgmlType::kBF16 ? "bfloat16"
                                                    : ggml_type_name(stored);
  config.validate(path);
  return config;
}

std::string gguf_architecture_of(const TransformerConfig& config) {
  if (config.model_type == "Dream" || config.model_type == "dream") return "dream";
  if (config.model_type == "qwen2") return "qwen2";
  if (config.model_type == "qwen3") return "qwen3";
  if (config.model_type == "llama") return config.bidirectional ? "llada" : "llama";
  fail("GGUF: no architecture for model_type '", config.model_type, "'");
}

void add_gguf_model_metadata(GgufWriter& writer, const TransformerConfig& config, GgmlType weight_type) {
  const std::string arch = gguf_architecture_of(config);
  auto key = [&](const std::string& suffix) { return arch + "." + suffix; };
  auto u32 = [](int64_t value) { return static_cast<uint32_t>(value); };  // sizes validated by the config
  // llama.cpp's llama_ftype of the weights' type.
  uint32_t file_type = 0;
  switch (weight_type) {
    case GgmlType::kF16: file_type = 1; break;
    case GgmlType::kQ4_0: file_type = 2; break;
    case GgmlType::kQ8_0: file_type = 7; break;
    case GgmlType::kBF16: file_type = 32; break;
    default: file_type = 0; break;
  }
  writer.add_string("general.architecture", arch);
  writer.add_string("general.name", config.architecture.empty() ? arch : config.architecture);
  writer.add_uint32("general.file_type", file_type);
  if (weight_type == GgmlType::kQ8_0 || weight_type == GgmlType::kQ4_0) writer.add_uint32("general.quantization_version", 2);
  writer.add_uint32(key("vocab_size"), u32(config.vocab_size));
  writer.add_uint32(key("context_length"), u32(config.max_position_embeddings > 0 ? config.max_position_embeddings : 32768));
  writer.add_uint32(key("embedding_length"), u32(config.hidden_size));
  writer.add_uint32(key("feed_forward_length"), u32(config.intermediate_size));
  writer.add_uint32(key("block_count"), u32(config.num_layers));
  writer.add_uint32(key("attention.head_count"), u32(config.num_heads));
  writer.add_uint32(key("attention.head_count_kv"), u32(config.num_kv_heads));
  writer.add_uint32(key("attention.key_length"), u32(config.head_dim));
  writer.add_uint32(key("attention.value_length"), u32(config.head_dim));
  writer.add_uint32(key("rope.dimension_count"), u32(config.head_dim));
  writer.add_float32(key("rope.freq_base"), static_cast<float>(config.rope_theta));
  writer.add_float32(key("attention.layer_norm_rms_epsilon"), static_cast<float>(config.rms_norm_eps));
  if (config.bidirectional) writer.add_bool(key("attention.causal"), false);
  if (arch == "dream" || arch == "llada") writer.add_bool("diffusion.shift_logits", config.shift_logits);
  auto add_id = [&](const char* name, const std::optional<int64_t>& id) {
    if (id) writer.add_uint32(name, u32(*id));
  };
  add_id("tokenizer.ggml.bos_token_id", config.bos_token_id);
  if (!config.eos_token_ids.empty()) add_id("tokenizer.ggml.eos_token_id", config.eos_token_ids.front());
  if (config.eos_token_ids.size() > 1) add_id("tokenizer.ggml.eot_token_id", config.eos_token_ids[1]);
  add_id("tokenizer.ggml.padding_token_id", config.pad_token_id);
  add_id("tokenizer.ggml.mask_token_id", config.mask_token_id);
}

}  // namespace stepwise
