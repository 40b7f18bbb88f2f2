// GGUF files as checkpoints: load_gguf_checkpoint reads the model a GGUF file describes (architectures
// and names of models/gguf_layout.h; every tensor type of core/gguf_file.h dequantized into the load
// dtype, Q/K rows of llama/llada returned to the Hugging Face order; Q8_0 and Q4_0 linear weights also
// kept quantized for the int8 / int4 kernels, as int8 and symmetric int4 in groups of 32 with the
// blocks' float16 scales, unless LoadOptions::dequantize); save_gguf_checkpoint writes a
// model as llama.cpp expects it, in one of the written tensor types. load_checkpoint calls the loader
// for a path ending in .gguf.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/gguf_file.h"
#include "models/checkpoint.h"

namespace stepwise {

std::shared_ptr<Transformer> load_gguf_checkpoint(const std::string& path, const LoadOptions& options = {});

struct GgufSaveOptions {
  // Type of the 2-D weights: f32, f16, bf16, q8_0 or q4_0. 1-D tensors (norms, biases) stay f32, as
  // llama.cpp's converter keeps them; a quantized weight whose rows are not a multiple of 32 is f32.
  GgmlType weight_type = GgmlType::kF32;
  std::optional<std::string> tokenizer_json;  // written as tokenizer.ggml.*; without it, model "none"
  std::optional<std::string> chat_template;   // tokenizer.chat_template
};

// Writes `model` as a GGUF v3 file llama.cpp loads (Q/K rows permuted back for llama and llada).
void save_gguf_checkpoint(const Transformer& model, const std::string& path, const GgufSaveOptions& options);

// The type a tensor of torch-order `shape` is written in under `weight_type`.
GgmlType gguf_tensor_type_for(const std::vector<int64_t>& shape, GgmlType weight_type);

// Counts of a GGUF file's tensors by ggml type, as "q8_0: 14, f32: 9" (for `stepwise inspect`).
std::string gguf_tensor_type_summary(const GgufFile& file);

}  // namespace stepwise
