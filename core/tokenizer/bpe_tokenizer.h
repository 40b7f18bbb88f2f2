// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (Qwen2 / Qwen2.5 / Qwen3 / LLaMA-3 /
// GPT-2 style): Unicode normalizer, added tokens matched first, regex pre-tokenizer taken from the file,
// GPT-2 byte-to-unicode mapping, merges applied by rank. encode() adds no special tokens (the file's
// post-processor and truncation/padding settings are not applied). Other tokenizer kinds (WordPiece,
// Unigram, SentencePiece-style Metaspace) are rejected at load time with an error naming the piece.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/tokenizer/tokenizer.h"

namespace stepwise {

namespace bpe {
struct TokenizerState;  // core/tokenizer/bpe_tokenizer_state.h
}  // namespace bpe

class BpeTokenizer final : public Tokenizer {
 public:
  // Reads and validates `path`; throws stepwise::Error naming the file and the offending piece.
  static BpeTokenizer from_file(const std::string& path);
  // The same from the parts of a tokenizer.json held elsewhere (a GGUF file, core/tokenizer/bpe_tokenizer_gguf.h):
  // `config` is the tokenizer.json tree without model.vocab and model.merges, which come separately.
  // `where` names the source in errors.
  static BpeTokenizer from_parts(const std::string& where, const nlohmann::json& config,
                                 std::vector<std::pair<std::string, int64_t>> vocab,
                                 std::vector<std::pair<std::string, std::string>> merges);

  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer() override;

  // Text must be valid UTF-8. Added tokens written in the text (e.g. "<|im_start|>") become their ids.
  // Thread-safe: the per-word merge cache is guarded internally.
  std::vector<int64_t> encode(const std::string& text) const override;
  // Invalid UTF-8 (e.g. a multi-byte character cut between tokens) becomes U+FFFD, as Hugging Face does.
  // Throws stepwise::Error for an id outside the vocabulary.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const override;
  // The raw bytes of the tokens, without UTF-8 repair: for streaming output a token at a time.
  std::string decode_bytes(const std::vector<int64_t>& ids, bool skip_special = false) const;
  // One past the largest id of the model vocabulary and the added tokens.
  int64_t vocab_size() const override;
  // `token` as written in the file: added tokens by content, model tokens in byte-level form ("Ġthe").
  std::optional<int64_t> token_id(const std::string& token) const override;
  // Whether `id` is an added token marked special (dropped by decode with skip_special).
  bool is_special(int64_t id) const;

 private:
  explicit BpeTokenizer(std::unique_ptr<bpe::TokenizerState> state);
  std::unique_ptr<bpe::TokenizerState> state_;
};

}  // namespace stepwise
