// The `quantization_config` block of a quantized checkpoint's config.json, as GPTQ tools and
// AutoRound write it: read strictly (a missing or mistyped key is an error naming the file and key)
// and written in the GPTQ form transformers / GPTQModel / AutoGPTQ load. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "models/quantization/gptq_layout.h"
#include "models/quantization/group_quantizer.h"

namespace stepwise {

// AutoRound's tuning settings, recorded with the checkpoints it produces.
struct AutoRoundSettings {
  int64_t iters = 200;
  double lr = 0.005;         // 1 / iters unless given
  int64_t samples = 128;     // calibration sequences
  int64_t seq_len = 2048;    // tokens per calibration sequence
  int64_t batch_size = 8;    // sequences per optimisation step
  uint64_t seed = 42;
};

struct QuantizationConfig {
  QuantizationScheme scheme;     // group_size -1 (a whole row per group) is kept as -1 here
  std::string method = "rtn";    // how the weights were chosen: rtn, autoround, or gptq (published, unknown)
  std::string quant_method = "gptq";  // as in the file: gptq or auto-round
  GptqZeroFormat zero_format = GptqZeroFormat::kV1;
  std::optional<AutoRoundSettings> autoround;  // when method is autoround and the file records them
};

// Parses config.json's `quantization_config` object; `where` names the file.
QuantizationConfig parse_quantization_config(const nlohmann::json& json, const std::string& where);
// The object written into config.json (quant_method gptq, checkpoint_format gptq, desc_act false).
nlohmann::json quantization_config_to_json(const QuantizationConfig& config);
// The group size of a layer with `in_features` columns (group_size -1 means the whole row).
int64_t group_size_for(const QuantizationConfig& config, int64_t in_features);

}  // namespace stepwise
