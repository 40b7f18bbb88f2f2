// config.json parsing and writing.
#include "models/transformer_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stepwise {
namespace {

int64_t required_int(const nlohmann::json& json, const std::string& key, const std::string& where) {
  check(json.contains(key), where, ": missing key '", key, "'");
  check(json[key].is_number_integer(), where, ": key '", key, "' must be an integer, got ", json[key].dump());
  return json[key].get<int64_t>();
}

std::optional<int64_t> optional_int(const nlohmann::json& json, const std::string& key, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  check(json[key].is_number_integer(), where, ": key '", key, "' must be an integer, got ", json[key].dump());
  return json[key].get<int64_t>();
}

}  // namespace

void TransformerConfig::validate(const std::string& where) const {
  check(vocab_size > 0 && hidden_size > 0 && intermediate_size > 0 && num_layers > 0 && num_heads > 0 &&
            num_kv_heads > 0 && head_dim > 0,
        where, ": sizes must be positive");
  check(num_heads % num_kv_heads == 0, where, ": num_attention_heads (", num_heads,
        ") must be a multiple of num_key_value_heads (", num_kv_heads, ")");
  check(head_dim % 2 == 0, where, ": head_dim (", head_dim, ") must be even for rotary embeddings");
  if (mask_token_id) check(*mask_token_id >= 0 && *mask_token_id < vocab_size, where, ": mask_token_id out of range");
}

TransformerConfig parse_transformer_config(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, ": expected a JSON object");
  TransformerConfig config;
  check(json.contains("model_type") && json["model_type"].is_string(), where, ": missing key 'model_type'");
  config.model_type = json["model_type"].get<std::string>();
  const std::string& type = config.model_type;
  const bool is_qwen2 = type == "qwen2";
  const bool is_qwen3 = type == "qwen3";
  const bool is_llama = type == "llama";
  const bool is_dream = type == "Dream" || type == "dream";
  check(is_qwen2 || is_qwen3 || is_llama || is_dream, where, ": unsupported model_type '", type,
        "' (supported: qwen2, qwen3, llama, Dream)");
  if (json.contains("architectures") && json["architectures"].is_array() && !json["architectures"].empty())
    config.architecture = json["architectures"][0].get<std::string>();

  config.vocab_size = required_int(json, "vocab_size", where);
  config.hidden_size = required_int(json, "hidden_size", where);
  config.intermediate_size = required_int(json, "intermediate_size", where);
  config.num_layers = required_int(json, "num_hidden_layers", where);
  config.num_heads = required_int(json, "num_attention_heads", where);
  config.num_kv_heads = optional_int(json, "num_key_value_heads", where).value_or(config.num_heads);
  config.head_dim = optional_int(json, "head_dim", where).value_or(0);
  if (config.head_dim == 0) {
    check(config.hidden_size % config.num_heads == 0, where, ": hidden_size not divisible by num_attention_heads");
    config.head_dim = config.hidden_size / config.num_heads;
  }
  config.max_position_embeddings = optional_int(json, "max_position_embeddings", where).value_or(32768);
  if (json.contains("rms_norm_eps")) config.rms_norm_eps = json["rms_norm_eps"].get<double>();

  // RoPE: top-level rope_theta (older writers) or rope_parameters {rope_type, rope_theta} (newer).
  const nlohmann::json* rope = nullptr;
  if (json.contains("rope_parameters") && json["rope_parameters"].is_object()) rope = &json["rope_parameters"];
  else if (json.contains("rope_scaling") && json["rope_scaling"].is_object()) rope = &json["rope_scaling"];
  if (json.contains("rope_theta")) config.rope_theta = json["rope_theta"].get<double>();
  if (rope != nullptr) {
    if (rope->contains("rope_theta")) config.rope_theta = (*rope)["rope_theta"].get<double>();
    std::string rope_type = "default";
    if (rope->contains("rope_type")) rope_type = (*rope)["rope_type"].get<std::string>();
    else if (rope->contains("type")) rope_type = (*rope)["type"].get<std::string>();
    check(rope_type == "default", where, ": rope_type '", rope_type, "' is not supported (only default RoPE)");
  }

  if (json.contains("hidden_act")) {
    const std::string act = json["hidden_act"].get<std::string>();
    check(act == "silu" || act == "swish", where, ": hidden_act '", act, "' is not supported (only silu)");
  }
  if (json.contains("tie_word_embeddings")) config.tie_word_embeddings = json["tie_word_embeddings"].get<bool>();
  if (json.contains("attention_bias") && json["attention_bias"].is_boolean()) {
    config.attention_bias = json["attention_bias"].get<bool>();
    config.output_bias = is_llama && config.attention_bias;
  }
  if (is_qwen2 || is_dream) config.attention_bias = true;  // Qwen2 layouts: inferred from tensors on load
  if (json.contains("mlp_bias") && json["mlp_bias"].is_boolean()) config.mlp_bias = json["mlp_bias"].get<bool>();
  config.qk_norm = is_qwen3;

  config.mask_token_id = optional_int(json, "mask_token_id", where);
  config.bos_token_id = optional_int(json, "bos_token_id", where);
  config.pad_token_id = optional_int(json, "pad_token_id", where);
  if (json.contains("eos_token_id")) {
    const auto& eos = json["eos_token_id"];
    if (eos.is_array()) {
      for (const auto& id : eos) {
        // A float here would be converted to an integer, undefined behaviour when out of range.
        check(id.is_number_integer(), where, ": key 'eos_token_id' must hold integers, got ", id.dump());
        config.eos_token_ids.push_back(id.get<int64_t>());
      }
    } else if (eos.is_number_integer()) {
      config.eos_token_ids.push_back(eos.get<int64_t>());
    }
  }
  const bool declared_non_causal = json.contains("is_causal") && json["is_causal"].is_boolean() &&
                                   !json["is_causal"].get<bool>();
  config.bidirectional = is_dream || declared_non_causal;
  config.shift_logits = is_dream;
  if (json.contains("torch_dtype") && json["torch_dtype"].is_string())
    config.stored_dtype = json["torch_dtype"].get<std::string>();
  else if (json.contains("dtype") && json["dtype"].is_string())
    config.stored_dtype = json["dtype"].get<std::string>();
  config.validate(where);
  return config;
}

TransformerConfig load_transformer_config(const std::string& path) {
  check(std::filesystem::exists(path), path, ": file not found");
  std::ifstream in(path);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  try {
    return parse_transformer_config(json, path);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": a key has the wrong type (", e.what(), ")");
  }
}

nlohmann::json transformer_config_to_json(const TransformerConfig& config) {
  nlohmann::json json;
  const bool is_dream = config.model_type == "Dream" || config.model_type == "dream";
  if (!config.architecture.empty()) json["architectures"] = {config.architecture};
  json["model_type"] = config.model_type;
  json["vocab_size"] = config.vocab_size;
  json["hidden_size"] = config.hidden_size;
  json["intermediate_size"] = config.intermediate_size;
  json["num_hidden_layers"] = config.num_layers;
  json["num_attention_heads"] = config.num_heads;
  json["num_key_value_heads"] = config.num_kv_heads;
  json["head_dim"] = config.head_dim;
  json["max_position_embeddings"] = config.max_position_embeddings;
  json["hidden_act"] = "silu";
  json["rope_theta"] = config.rope_theta;
  json["rms_norm_eps"] = config.rms_norm_eps;
  json["tie_word_embeddings"] = config.tie_word_embeddings;
  if (config.model_type == "llama") {
    json["attention_bias"] = config.attention_bias;
    json["mlp_bias"] = config.mlp_bias;
  }
  if (config.bidirectional && !is_dream) json["is_causal"] = false;
  if (config.mask_token_id) json["mask_token_id"] = *config.mask_token_id;
  if (config.bos_token_id) json["bos_token_id"] = *config.bos_token_id;
  if (config.pad_token_id) json["pad_token_id"] = *config.pad_token_id;
  if (config.eos_token_ids.size() == 1) json["eos_token_id"] = config.eos_token_ids[0];
  else if (!config.eos_token_ids.empty()) json["eos_token_id"] = config.eos_token_ids;
  json["torch_dtype"] = config.stored_dtype;
  return json;
}

}  // namespace stepwise
