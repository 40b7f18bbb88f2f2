// Strict checkpoint loading (every tensor present, shaped as the config says and free of NaN/Inf), saving
// and random initialisation.
#include "models/checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/tensor/safetensors.h"
#include "core/gguf_file.h"
#include "core/tensor/sampling.h"
#include "models/gguf_checkpoint.h"
#include "models/quantization/gptq_checkpoint.h"
#include "models/tensor_source.h"

namespace stepwise {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

// Visits every tensor the model with `config` has, in a fixed order, with its HF name and shape.
void for_each_tensor(const TransformerConfig& c,
                     const std::function<void(const std::string&, std::vector<int64_t>, torch::Tensor*)>& visit,
                     TransformerWeights& w) {
  const int64_t q_width = c.num_heads * c.head_dim, kv_width = c.num_kv_heads * c.head_dim;
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  visit("model.embed_tokens.weight", {c.vocab_size, H}, &w.embed_tokens);
  w.layers.resize(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    visit(p + "input_layernorm.weight", {H}, &l.input_norm);
    visit(p + "self_attn.q_proj.weight", {q_width, H}, &l.q_proj);
    visit(p + "self_attn.k_proj.weight", {kv_width, H}, &l.k_proj);
    visit(p + "self_attn.v_proj.weight", {kv_width, H}, &l.v_proj);
    visit(p + "self_attn.o_proj.weight", {H, q_width}, &l.o_proj);
    if (c.attention_bias) {
      visit(p + "self_attn.q_proj.bias", {q_width}, &l.q_bias);
      visit(p + "self_attn.k_proj.bias", {kv_width}, &l.k_bias);
      visit(p + "self_attn.v_proj.bias", {kv_width}, &l.v_bias);
    }
    if (c.output_bias) visit(p + "self_attn.o_proj.bias", {H}, &l.o_bias);
    if (c.qk_norm) {
      visit(p + "self_attn.q_norm.weight", {c.head_dim}, &l.q_norm);
      visit(p + "self_attn.k_norm.weight", {c.head_dim}, &l.k_norm);
    }
    visit(p + "post_attention_layernorm.weight", {H}, &l.post_norm);
    visit(p + "mlp.gate_proj.weight", {I, H}, &l.gate_proj);
    visit(p + "mlp.up_proj.weight", {I, H}, &l.up_proj);
    visit(p + "mlp.down_proj.weight", {H, I}, &l.down_proj);
    if (c.mlp_bias) {
      visit(p + "mlp.gate_proj.bias", {I}, &l.gate_bias);
      visit(p + "mlp.up_proj.bias", {I}, &l.up_bias);
      visit(p + "mlp.down_proj.bias", {H}, &l.down_bias);
    }
  }
  visit("model.norm.weight", {H}, &w.final_norm);
  if (!c.tie_word_embeddings) visit("lm_head.weight", {c.vocab_size, H}, &w.lm_head);
}

bool is_ignorable(const std::string& name) {
  return name.find("rotary_emb.inv_freq") != std::string::npos;
}

// The safetensors files of a checkpoint directory as a TensorSource.
class SafetensorsSource : public TensorSource {
 public:
  explicit SafetensorsSource(const std::string& directory) : store_(directory) {}
  std::vector<std::string> names() const override { return store_.names(); }
  bool contains(const std::string& name) const override { return store_.contains(name); }
  std::vector<int64_t> shape(const std::string& name) const override { return store_.info(name).shape; }
  std::string file_of(const std::string& name) const override { return store_.file_of(name); }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    return store_.load(name, dtype);
  }

 private:
  TensorStore store_;
};

}  // namespace

std::shared_ptr<Transformer> build_transformer(TransformerConfig config, const TensorSource& source,
                                               const std::string& where, const LoadOptions& options) {
  // Optional parts are decided by the tensors present (Qwen2 configs do not announce their biases).
  config.attention_bias = source.contains("model.layers.0.self_attn.q_proj.bias");
  config.output_bias = source.contains("model.layers.0.self_attn.o_proj.bias");
  config.mlp_bias = source.contains("model.layers.0.mlp.gate_proj.bias");
  if (!config.qk_norm && source.contains("model.layers.0.self_attn.q_norm.weight")) config.qk_norm = true;

  TransformerWeights weights;
  std::set<std::string> expected;
  for_each_tensor(
      config,
      [&](const std::string& name, std::vector<int64_t> shape, torch::Tensor* slot) {
        expected.insert(name);
        check(source.contains(name), where, ": missing tensor '", name, "' (expected shape ", shape_text(shape),
              ")");
        const std::vector<int64_t> stored = source.shape(name);
        check(stored == shape, source.file_of(name), ": tensor '", name, "' has shape ", shape_text(stored),
              ", expected ", shape_text(shape));
        torch::Tensor value = source.load(name, options.dtype);
        // One pass per tensor: a NaN or Inf weight would turn every logit into NaN.
        check(torch::isfinite(value).all().item<bool>(), source.file_of(name), ": tensor '", name,
              "' holds NaN or infinite values");
        *slot = value.to(options.device);
      },
      weights);
  for (const auto& name : source.names()) {
    if (expected.count(name) || is_ignorable(name)) continue;
    // Some writers store a tied head anyway; the embedding serves as the head.
    if (name == "lm_head.weight" && config.tie_word_embeddings) continue;
    fail(source.file_of(name), ": unexpected tensor '", name, "' (not part of a ", config.model_type,
         " model with this config)");
  }
  if (config.tie_word_embeddings) weights.lm_head = weights.embed_tokens;
  return std::make_shared<Transformer>(std::move(config), std::move(weights));
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensor_shapes(const TransformerConfig& config) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  TransformerWeights unused;
  for_each_tensor(
      config, [&](const std::string& name, std::vector<int64_t> shape, torch::Tensor*) { out.emplace_back(name, shape); },
      unused);
  return out;
}

std::shared_ptr<Transformer> load_checkpoint(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (is_gguf_path(path)) return load_gguf_checkpoint(path, options);  // a GGUF file where a directory goes
  std::error_code status_error;  // an over-long or unreadable path is reported, not thrown
  check(fs::is_directory(path, status_error), path, ": not a directory",
        status_error ? " (" + status_error.message() + ")" : "");
  if (is_quantized_checkpoint(path)) return load_gptq_checkpoint(path, options);  // GPTQ layout
  TransformerConfig config = load_transformer_config((fs::path(path) / "config.json").string());
  return build_transformer(std::move(config), SafetensorsSource(path), path, options);
}

void save_checkpoint(const Transformer& model, const std::string& directory) {
  namespace fs = std::filesystem;
  fs::create_directories(directory);
  TransformerConfig config = model.config();
  config.stored_dtype = model.dtype() == torch::kBFloat16 ? "bfloat16"
                        : model.dtype() == torch::kFloat16 ? "float16"
                                                           : "float32";
  write_safetensors((fs::path(directory) / "model.safetensors").string(), model.named_parameters(),
                    {{"format", "pt"}});
  write_file_atomically((fs::path(directory) / "config.json").string(),
                        transformer_config_to_json(config).dump(2) + "\n");
}

std::shared_ptr<Transformer> random_transformer(const TransformerConfig& config, uint64_t seed,
                                                const LoadOptions& options) {
  config.validate("random model config");
  at::Generator generator = make_generator(seed);
  TransformerWeights weights;
  for_each_tensor(
      config,
      [&](const std::string& name, std::vector<int64_t> shape, torch::Tensor* slot) {
        const bool is_norm = name.find("norm") != std::string::npos;
        const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        torch::Tensor value;
        if (is_norm) value = torch::ones(shape);
        else if (is_bias) value = torch::zeros(shape);
        else value = at::normal(0.0, 0.02, shape, generator);
        *slot = value.to(options.dtype).to(options.device);
      },
      weights);
  if (config.tie_word_embeddings) weights.lm_head = weights.embed_tokens;
  return std::make_shared<Transformer>(config, std::move(weights));
}

}  // namespace stepwise
