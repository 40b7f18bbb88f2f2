// Getting weights in and out of the Hugging Face layout: a directory with config.json and
// model.safetensors (or sharded with model.safetensors.index.json), or a GGUF file (models/
// gguf_checkpoint.h), which load_checkpoint accepts wherever a directory is. Loading is strict: a
// missing, unexpected or wrong-shaped tensor is an error naming the tensor and the file. Saving writes
// the Hugging Face layout, so models trained here reload like downloaded ones. Also random initialisation.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "models/transformer.h"

namespace stepwise {

struct LoadOptions {
  torch::ScalarType dtype = torch::kFloat32;  // compute dtype the weights are converted to
  torch::Device device = torch::kCPU;
  // Quantized weights (GGUF Q8_0 / Q4_0, GPTQ-layout checkpoints) only dequantized into `dtype`, not
  // also kept for the int8 / int4 kernels (Transformer::set_group_quantized).
  bool dequantize = false;
};

// Loads config.json + safetensors from `directory`, or the GGUF file `directory` names when it ends in
// .gguf (models/tensor_source.h has the strict part both share). A directory whose config.json has a
// quantization_config is read in the GPTQ layout (models/quantization/gptq_checkpoint.h).
std::shared_ptr<Transformer> load_checkpoint(const std::string& directory, const LoadOptions& options = {});

// Writes config.json and model.safetensors (weights stored in the model's dtype) into `directory`.
void save_checkpoint(const Transformer& model, const std::string& directory);

// A model with random weights (normal, std 0.02; norms 1), reproducible from `seed`. Biases are
// created when config.attention_bias / output_bias / mlp_bias say so.
std::shared_ptr<Transformer> random_transformer(const TransformerConfig& config, uint64_t seed,
                                                const LoadOptions& options = {});

}  // namespace stepwise
