// config.json parsing and writing. Every key is type-checked (errors name the file and key) and the sizes
// bounded before anything is allocated from them.
#include "models/transformer_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"

namespace stepwise {
namespace {

// Upper bounds on config.json sizes, far above any released model, so a bad file is refused with a
// message instead of an allocation sized by it; every size computed from them (tensor shapes, parameter
// counts) stays well inside int64.
constexpr int64_t kMaxVocabSize = 1 << 24;
constexpr int64_t kMaxHiddenSize = 1 << 17;
constexpr int64_t kMaxIntermediateSize = 1 << 20;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxHeadDim = 4096;
constexpr int64_t kMaxPositions = 1 << 24;

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

std::optional<double> optional_number(const nlohmann::json& json, const std::string& key, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  check(json[key].is_number(), where, ": key '", key, "' must be a number, got ", json[key].dump());
  return json[key].get<double>();
}

std::optional<bool> optional_bool(const nlohmann::json& json, const std::string& key, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  check(json[key].is_boolean(), where, ": key '", key, "' must be true or false, got ", json[key].dump());
  return json[key].get<bool>();
}

std::optional<std::string> optional_string(const nlohmann::json& json, const std::string& key,
                                           const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  check(json[key].is_string(), where, ": key '", key, "' must be a string, got ", json[key].dump());
  return json[key].get<std::string>();
}

// `value` of key `key` lies in [1, limit].
void check_size(int64_t value, const char* key, int64_t limit, const std::string& where) {
  check(value >= 1 && value <= limit, where, ": ", key, " must be between 1 and ", limit, ", got ", value);
}

}  // namespace

// Refuses a config that cannot produce finite logits: sizes in [1, kMax...] (max_position_embeddings may
// be 0, not set, in a config built in code), heads a multiple of kv heads, head_dim even, rope_theta and
// rms_norm_eps finite and > 0.
void TransformerConfig::validate(const std::string& where) const {
  check_size(vocab_size, "vocab_size", kMaxVocabSize, where);
  check_size(hidden_size, "hidden_size", kMaxHiddenSize, where);
  check_size(intermediate_size, "intermediate_size", kMaxIntermediateSize, where);
  check_size(num_layers, "num_hidden_layers", kMaxLayers, where);
  check_size(num_heads, "num_attention_heads", kMaxHeads, where);
  check_size(num_kv_heads, "num_key_value_heads", kMaxHeads, where);
  check_size(head_dim, "head_dim", kMaxHeadDim, where);
  // 0 means not set, which only a config built in code has (config.json gets a value, checked below).
  check(max_position_embeddings >= 0 && max_position_embeddings <= kMaxPositions, where,
        ": max_position_embeddings must be between 1 and ", kMaxPositions, ", got ", max_position_embeddings);
  check(num_heads % num_kv_heads == 0, where, ": num_attention_heads (", num_heads,
        ") must be a multiple of num_key_value_heads (", num_kv_heads, ")");
  check(head_dim % 2 == 0, where, ": head_dim (", head_dim, ") must be even for rotary embeddings");
  check(std::isfinite(rope_theta) && rope_theta > 0.0, where, ": rope_theta must be a finite number > 0, got ",
        rope_theta);
  check(std::isfinite(rms_norm_eps) && rms_norm_eps > 0.0, where,
        ": rms_norm_eps must be a finite number > 0, got ", rms_norm_eps);
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
  if (json.contains("architectures") && json["architectures"].is_array() && !json["architectures"].empty()) {
    check(json["architectures"][0].is_string(), where, ": key 'architectures' must hold strings, got ",
          json["architectures"].dump());
    config.architecture = json["architectures"][0].get<std::string>();
  }

  config.vocab_size = required_int(json, "vocab_size", where);
  config.hidden_size = required_int(json, "hidden_size", where);
  config.intermediate_size = required_int(json, "intermediate_size", where);
  config.num_layers = required_int(json, "num_hidden_layers", where);
  config.num_heads = required_int(json, "num_attention_heads", where);
  check_size(config.num_heads, "num_attention_heads", kMaxHeads, where);  // before dividing by it
  config.num_kv_heads = optional_int(json, "num_key_value_heads", where).value_or(config.num_heads);
  config.head_dim = optional_int(json, "head_dim", where).value_or(0);
  if (config.head_dim == 0) {
    check(config.hidden_size % config.num_heads == 0, where, ": hidden_size not divisible by num_attention_heads");
    config.head_dim = config.hidden_size / config.num_heads;
  }
  config.max_position_embeddings = optional_int(json, "max_position_embeddings", where).value_or(32768);
  check_size(config.max_position_embeddings, "max_position_embeddings", kMaxPositions, where);
  config.rms_norm_eps = optional_number(json, "rms_norm_eps", where).value_or(config.rms_norm_eps);

  // RoPE: top-level rope_theta (older writers) or rope_parameters {rope_type, rope_theta} (newer).
  const nlohmann::json* rope = nullptr;
  if (json.contains("rope_parameters") && json["rope_parameters"].is_object()) rope = &json["rope_parameters"];
  else if (json.contains("rope_scaling") && json["rope_scaling"].is_object()) rope = &json["rope_scaling"];
  config.rope_theta = optional_number(json, "rope_theta", where).value_or(config.rope_theta);
  if (rope != nullptr) {
    const std::string rope_where = where + ": " + (json.contains("rope_parameters") ? "rope_parameters" : "rope_scaling");
    config.rope_theta = optional_number(*rope, "rope_theta", rope_where).value_or(config.rope_theta);
    const std::string rope_type = optional_string(*rope, "rope_type", rope_where)
                                      .value_or(optional_string(*rope, "type", rope_where).value_or("default"));
    check(rope_type == "default", where, ": rope_type '", rope_type, "' is not supported (only default RoPE)");
  }

  if (const auto act_value = optional_string(json, "hidden_act", where)) {
    const std::string& act = *act_value;
    check(act == "silu" || act == "swish", where, ": hidden_act '", act, "' is not supported (only silu)");
  }
  config.tie_word_embeddings = optional_bool(json, "tie_word_embeddings", where).value_or(false);
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
  config.block_size = optional_int(json, "bd_size", where);
  if (config.block_size) {
    check(*config.block_size >= 1, where, ": bd_size must be >= 1, got ", *config.block_size);
    config.bidirectional = true;  // bidirectional inside its blocks
  }
  if (json.contains("torch_dtype") && json["torch_dtype"].is_string())
    config.stored_dtype = json["torch_dtype"].get<std::string>();
  else if (json.contains("dtype") && json["dtype"].is_string())
    config.stored_dtype = json["dtype"].get<std::string>();
  config.validate(where);
  return config;
}

TransformerConfig load_transformer_config(const std::string& path) {
  const std::string text = read_regular_file(path);  // names the file when missing, a directory or a FIFO
  const nlohmann::json json = parse_json_input(text, path);
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
  if (config.block_size) json["bd_size"] = *config.block_size;
  if (config.bos_token_id) json["bos_token_id"] = *config.bos_token_id;
  if (config.pad_token_id) json["pad_token_id"] = *config.pad_token_id;
  if (config.eos_token_ids.size() == 1) json["eos_token_id"] = config.eos_token_ids[0];
  else if (!config.eos_token_ids.empty()) json["eos_token_id"] = config.eos_token_ids;
  json["torch_dtype"] = config.stored_dtype;
  return json;
}

void check_token_ids(const TransformerConfig& config, const std::vector<int64_t>& ids, const std::string& what) {
  for (int64_t id : ids)
    check(id >= 0 && id < config.vocab_size, what, ": token id ", id, " is outside the vocabulary [0, ",
          config.vocab_size, ")");
}

}  // namespace stepwise
