// The one small interface every tokenizer offers (text <-> token ids), plus the character tokenizer
// of the synthetic planning tasks: the study's 31 symbols [PAD]=0 [SEP]=1 [MASK]=2 [EOS]=3 [UNK]=4,
// 0-9 * + - / = , a-j, then '|' (id 31, the path-star edge separator): 32 symbols.
// Byte-level BPE from a Hugging Face tokenizer.json lives in core/tokenizer/bpe_tokenizer.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stepwise {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // Special tokens are rendered as their text when `skip_special` is false.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Id of a token given by its text (special tokens included), if the vocabulary has it.
  virtual std::optional<int64_t> token_id(const std::string& token) const = 0;
};

class CharTokenizer final : public Tokenizer {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kSep = 1;
  static constexpr int64_t kMask = 2;
  static constexpr int64_t kEos = 3;
  static constexpr int64_t kUnk = 4;

  CharTokenizer();
  // Characters outside the vocabulary map to [UNK].
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(symbols_.size()); }
  std::optional<int64_t> token_id(const std::string& token) const override;

 private:
  std::vector<std::string> symbols_;  // id -> text
};

}  // namespace stepwise
