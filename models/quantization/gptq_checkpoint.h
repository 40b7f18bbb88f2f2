// Checkpoints in the GPTQ layout (models/quantization/gptq_layout.h): a Hugging Face directory whose
// config.json holds a quantization_config and whose quantized linears are stored as qweight / qzeros /
// scales / g_idx, other tensors (embeddings, norms, biases, an unquantized LM head) as usual. Loading
// checks every quantized tensor's dtype and shape against the config (errors name the tensor and the
// file) and gives the model the dequantized weights; load_checkpoint routes such directories here.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "models/checkpoint.h"
#include "models/group_quantized.h"
#include "models/quantization/quantization_config.h"

namespace stepwise {

// True when `directory`/config.json has a quantization_config key.
bool is_quantized_checkpoint(const std::string& directory);

// The quantization_config of `directory`/config.json (errors name the file and key).
QuantizationConfig load_quantization_config(const std::string& directory);

std::shared_ptr<Transformer> load_gptq_checkpoint(const std::string& directory, const LoadOptions& options = {});

// Writes `model` with the weights named in `quantized` (Hugging Face weight names, "...q_proj.weight")
// in the GPTQ layout and every other tensor in the dtype the model was stored in (config stored_dtype:
// bfloat16 or float16; otherwise the model's dtype).
void save_gptq_checkpoint(const Transformer& model, const std::map<std::string, GroupQuantizedMatrix>& quantized,
                          const QuantizationConfig& config, const std::string& directory);

struct QuantizedStorage {
  int64_t quantized_linears = 0;
  int64_t quantized_bytes = 0;  // qweight + qzeros + scales + g_idx
  int64_t total_bytes = 0;      // every tensor of the checkpoint
};
QuantizedStorage quantized_storage(const std::string& directory);

}  // namespace stepwise
