// The architecture description of a decoder-only transformer, read from a Hugging Face config.json
// (qwen2, qwen3, llama, Dream, and LLaMA-layout bidirectional models with a mask_token_id) and
// written back in the same form. Old and new key styles are accepted (rope_theta at top level or
// inside rope_parameters; torch_dtype or dtype). Whether q/k/v carry biases is decided by the
// checkpoint's tensors, not here. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace stepwise {

struct TransformerConfig {
  std::string model_type;        // as written in config.json: "qwen2", "qwen3", "llama", "Dream"
  std::string architecture;      // first entry of "architectures", if any
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;          // may differ from hidden_size / num_heads (Qwen3)
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool qk_norm = false;          // per-head RMSNorm on q and k before RoPE (Qwen3)
  bool attention_bias = false;   // q/k/v biases (set from the checkpoint's tensors when loading)
  bool output_bias = false;      // o_proj bias (LLaMA attention_bias=true)
  bool mlp_bias = false;
  bool bidirectional = false;    // trained without a causal mask (Dream, LLaDA-style)
  bool shift_logits = false;     // output at position j predicts token j+1 even in diffusion (Dream)
  // Block diffusion (config.json "bd_size", Fast-dLLM v2): trained with block-causal attention over blocks
  // of this many positions (bidirectional inside a block); nullopt = full-sequence or causal.
  std::optional<int64_t> block_size;
  std::optional<int64_t> mask_token_id;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  std::string stored_dtype = "float32";  // torch_dtype / dtype of the checkpoint

  // Human-readable attention kind: "causal", "bidirectional" or "block-causal".
  std::string attention_kind() const {
    return block_size ? "block-causal" : bidirectional ? "bidirectional" : "causal";
  }
  // A masked-diffusion model (full-sequence or block): a mask token and no causal mask.
  bool masked_diffusion() const { return mask_token_id.has_value() && bidirectional; }
  // Throws stepwise::Error naming `where` if sizes are inconsistent.
  void validate(const std::string& where) const;
};

// Parses `path` (a config.json); errors name the file and the key.
TransformerConfig load_transformer_config(const std::string& path);
TransformerConfig parse_transformer_config(const nlohmann::json& json, const std::string& where);
// The Hugging Face config.json form of `config` (what save_checkpoint writes).
nlohmann::json transformer_config_to_json(const TransformerConfig& config);

// Throws stepwise::Error naming `what` (e.g. "ar: prompt 2") and the first id of `ids` outside the
// vocabulary [0, config.vocab_size). Token ids are checked with this where they enter a decoder or a
// training run, once, because the forward pass does not check them.
void check_token_ids(const TransformerConfig& config, const std::vector<int64_t>& ids, const std::string& what);

}  // namespace stepwise
