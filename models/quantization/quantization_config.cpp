// quantization_config reading and writing.
#include "models/quantization/quantization_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stepwise {
namespace {

const nlohmann::json& required(const nlohmann::json& json, const char* key, const std::string& where) {
  check(json.contains(key), where, ": quantization_config is missing key '", key, "'");
  return json[key];
}

int64_t required_int(const nlohmann::json& json, const char* key, const std::string& where) {
  const nlohmann::json& value = required(json, key, where);
  check(value.is_number_integer(), where, ": quantization_config key '", key, "' must be an integer, got ",
        value.dump());
  return value.get<int64_t>();
}

bool optional_bool(const nlohmann::json& json, const char* key, bool fallback, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  check(json[key].is_boolean(), where, ": quantization_config key '", key, "' must be true or false, got ",
        json[key].dump());
  return json[key].get<bool>();
}

std::optional<std::string> optional_string(const nlohmann::json& json, const char* key, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  check(json[key].is_string(), where, ": quantization_config key '", key, "' must be a string, got ",
        json[key].dump());
  return json[key].get<std::string>();
}

}  // namespace

QuantizationConfig parse_quantization_config(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, ": quantization_config must be an object");
  QuantizationConfig config;
  const nlohmann::json& method = required(json, "quant_method", where);
  check(method.is_string(), where, ": quantization_config key 'quant_method' must be a string");
  config.quant_method = method.get<std::string>();
  const bool autoround = config.quant_method == "auto-round" || config.quant_method == "intel/auto-round";
  check(config.quant_method == "gptq" || autoround, where, ": quantization_config quant_method '",
        config.quant_method, "' is not supported (gptq, or auto-round with GPTQ packing)");
  if (autoround) {
    // AutoRound names its packing in packing_format (newer) or backend (older); only GPTQ packing is read.
    for (const char* key : {"packing_format", "backend"}) {
      if (const auto packing = optional_string(json, key, where))
        check(packing->find("gptq") != std::string::npos, where, ": quantization_config key '", key, "' is '",
              *packing, "'; only AutoRound's GPTQ packing (auto_gptq) is supported");
    }
  }
  config.scheme.bits = static_cast<int>(required_int(json, "bits", where));
  check(config.scheme.bits == 4 || config.scheme.bits == 8, where, ": quantization_config key 'bits' is ",
        config.scheme.bits, "; only 4 and 8 are supported");
  config.scheme.group_size = required_int(json, "group_size", where);
  check(config.scheme.group_size == -1 || (config.scheme.group_size >= 1 && config.scheme.group_size <= (1 << 20)),
        where, ": quantization_config key 'group_size' must be -1 or between 1 and 2^20, got ",
        config.scheme.group_size);
  config.scheme.symmetric = optional_bool(json, "sym", true, where);
  check(config.scheme.bits == 4 || config.scheme.symmetric, where,
        ": quantization_config has bits 8 with sym false; only symmetric 8-bit weights are supported");
  check(!optional_bool(json, "desc_act", false, where), where,
        ": quantization_config key 'desc_act' is true; act-order checkpoints are not supported");
  const std::string format = optional_string(json, "checkpoint_format", where).value_or("gptq");
  check(format == "gptq" || format == "gptq_v2", where, ": quantization_config key 'checkpoint_format' is '", format,
        "' (gptq or gptq_v2)");
  config.zero_format = format == "gptq_v2" ? GptqZeroFormat::kV2 : GptqZeroFormat::kV1;
  config.method = autoround || json.contains("autoround_version") ? "autoround" : "gptq";
  if (const auto recorded = optional_string(json, "stepwise_method", where)) {
    check(*recorded == "rtn" || *recorded == "autoround", where,
          ": quantization_config key 'stepwise_method' must be rtn or autoround, got '", *recorded, "'");
    config.method = *recorded;
  }
  if (config.method == "autoround" && json.contains("iters") && json["iters"].is_number_integer()) {
    AutoRoundSettings settings;
    settings.iters = json["iters"].get<int64_t>();
    if (json.contains("lr") && json["lr"].is_number()) settings.lr = json["lr"].get<double>();
    if (json.contains("nsamples") && json["nsamples"].is_number_integer())
      settings.samples = json["nsamples"].get<int64_t>();
    if (json.contains("seqlen") && json["seqlen"].is_number_integer()) settings.seq_len = json["seqlen"].get<int64_t>();
    if (json.contains("batch_size") && json["batch_size"].is_number_integer())
      settings.batch_size = json["batch_size"].get<int64_t>();
    config.autoround = settings;
  }
  return config;
}

nlohmann::json quantization_config_to_json(const QuantizationConfig& config) {
  nlohmann::json json;
  json["quant_method"] = "gptq";
  json["checkpoint_format"] = config.zero_format == GptqZeroFormat::kV2 ? "gptq_v2" : "gptq";
  json["bits"] = config.scheme.bits;
  json["group_size"] = config.scheme.group_size;
  json["sym"] = config.scheme.symmetric;
  json["desc_act"] = false;
  json["static_groups"] = false;
  json["true_sequential"] = true;
  json["damp_percent"] = 0.01;  // a GPTQ setting readers expect; unused by RTN and AutoRound
  json["stepwise_method"] = config.method;
  if (config.autoround) {
    json["iters"] = config.autoround->iters;
    json["lr"] = config.autoround->lr;
    json["minmax_lr"] = config.autoround->lr;
    json["nsamples"] = config.autoround->samples;
    json["seqlen"] = config.autoround->seq_len;
    json["batch_size"] = config.autoround->batch_size;
    json["enable_minmax_tuning"] = true;
    json["enable_quanted_input"] = true;
  }
  return json;
}

int64_t group_size_for(const QuantizationConfig& config, int64_t in_features) {
  return config.scheme.group_size == -1 ? in_features : config.scheme.group_size;
}

}  // namespace stepwise
