// Byte-level BPE tokenizers in GGUF files, both ways. Reading: `tokenizer.ggml.model` "gpt2" with
// `tokenizer.ggml.tokens`, `.token_type`, `.merges` and `tokenizer.ggml.pre` (the pre-tokenizer name,
// mapped to its split pattern and normalizer) become a BpeTokenizer that encodes as the Hugging Face
// tokenizer.json it was converted from, or that tokenizer.json itself. Writing: a tokenizer.json's (or
// another GGUF file's) vocabulary, added tokens, merges and pre-tokenizer as those keys. Torch-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/gguf_file.h"
#include "core/gguf_writer.h"

namespace stepwise {

// GGUF token types (llama.cpp's llama_token_type).
enum class GgufTokenType : int32_t {
  kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

// Whether the file carries a tokenizer (tokenizer.ggml.model present and not "none" / "no_vocab").
bool gguf_has_tokenizer(const GgufFile& file);

// The file's tokenizer; errors name the file and the key (a model other than gpt2, an unknown
// tokenizer.ggml.pre, arrays of different lengths, a merge that is not two tokens).
BpeTokenizer bpe_tokenizer_from_gguf(const GgufFile& file);

// A tokenizer.json, or the tokenizer inside the GGUF file `path` (a name ending in .gguf): what every
// command that takes a tokenizer file reads.
BpeTokenizer load_bpe_tokenizer(const std::string& path);

// The tokenizer.json (Hugging Face's layout) that reads as the file's tokenizer: model BPE with its vocab
// and merges, the control and user-defined tokens as added tokens, the pre-tokenizer and normalizer of
// tokenizer.ggml.pre, byte-level decoding. What `convert --to safetensors` writes from a GGUF file.
nlohmann::json gguf_tokenizer_json(const GgufFile& file);

// The tokenizer_config.json that goes with it: bos_token / eos_token / pad_token as the texts of the
// file's token ids (null when absent) and tokenizer.chat_template as chat_template.
nlohmann::ordered_json gguf_tokenizer_config_json(const GgufFile& file);

// Adds tokenizer.ggml.{model, pre, tokens, token_type, merges} for the tokenizer.json at `path` (or the
// tokenizer of the GGUF file `path`, a name ending in .gguf), with
// `vocab_size` tokens (ids the file does not define become "[PAD<id>]", type unused). Errors name the
// file: a pre-tokenizer GGUF has no name for, an id at or above `vocab_size`.
void add_gguf_tokenizer(GgufWriter& writer, const std::string& tokenizer_json_path, int64_t vocab_size);

}  // namespace stepwise
