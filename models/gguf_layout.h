// How the transformer is laid out in a GGUF file as llama.cpp writes and reads it: the architecture
// names (qwen2, qwen3, llama, dream, llada), the metadata keys of the hyperparameters, and the tensor
// names (token_embd.weight, blk.N.attn_q.weight, ...) against the Hugging Face names the rest of
// stepwise uses. Reading builds a TransformerConfig from a file's metadata and tensor shapes; writing
// lists the metadata for a config. Torch-free.
#pragma once

#include <optional>
#include <string>

#include "core/gguf_file.h"
#include "core/gguf_writer.h"
#include "models/transformer_config.h"

namespace stepwise {

// The GGUF tensor name of a Hugging Face tensor name, or nullopt when the name has no GGUF counterpart.
std::optional<std::string> gguf_tensor_name(const std::string& hf_name);
// The Hugging Face name of a GGUF tensor name, or nullopt when stepwise has no such tensor.
std::optional<std::string> hf_tensor_name(const std::string& gguf_name);

// Whether llama.cpp's converter reorders the rows of Q and K of this GGUF architecture (llama, llada:
// the Hugging Face rotary layout of rotate_half is turned into interleaved pairs).
bool gguf_permutes_qk(const std::string& architecture);

// The model a GGUF file describes: `general.architecture` (one of qwen2, qwen3, llama, dream, llada),
// `<arch>.block_count`, `.embedding_length`, `.feed_forward_length`, `.attention.head_count[_kv]`,
// `.attention.key_length`, `.context_length`, `.rope.freq_base`, `.attention.layer_norm_rms_epsilon`,
// `.attention.causal`, `diffusion.shift_logits`, the `tokenizer.ggml.*_token_id`s; the vocabulary and
// the optional parts (biases, q/k norms, tied head) from the tensors present. Errors name the file and
// the key or tensor.
TransformerConfig gguf_transformer_config(const GgufFile& file);

// The GGUF architecture name stepwise writes for `config` (qwen2, qwen3, llama, dream or llada).
std::string gguf_architecture_of(const TransformerConfig& config);

// Adds general.architecture, general.file_type (from the type of the 2-D weights), the hyperparameter
// keys gguf_transformer_config reads, and the special token ids of `config`.
void add_gguf_model_metadata(GgufWriter& writer, const TransformerConfig& config, GgmlType weight_type);

}  // namespace stepwise
