// The tiny and small training shapes.
#include "experiments/training/model_presets.h"

#include "core/error.h"

namespace stepwise::training {

std::vector<std::string> model_preset_names() { return {"tiny", "small"}; }

TransformerConfig model_preset(const PresetRequest& request) {
  TransformerConfig config;
  check(request.layout == "qwen2" || request.layout == "llama", "unknown model layout '", request.layout,
        "' (expected qwen2 or llama)");
  config.model_type = request.layout;
  config.architecture = request.layout == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  config.attention_bias = request.layout == "qwen2";  // Qwen2: q/k/v biases; LLaMA: none
  config.vocab_size = request.vocab_size;
  config.max_position_embeddings = request.max_positions;
  config.rope_theta = 10000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = false;
  config.eos_token_ids = request.eos_token_ids;
  config.pad_token_id = request.pad_token_id;
  if (request.preset == "tiny") {
    config.num_layers = 3;
    config.hidden_size = 384;
    config.num_heads = 12;
    config.intermediate_size = 1024;
  } else if (request.preset == "small") {
    config.num_layers = 4;
    config.hidden_size = 128;
    config.num_heads = 4;
    config.intermediate_size = 384;
  } else {
    fail("unknown model preset '", request.preset, "' (expected tiny or small)");
  }
  config.num_kv_heads = config.num_heads;
  config.head_dim = config.hidden_size / config.num_heads;
  config.validate("model preset '" + request.preset + "'");
  return config;
}

}  // namespace stepwise::training
