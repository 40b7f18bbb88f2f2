// The state behind BpeTokenizer (internal to core/bpe_*.cpp): what core/tokenizer/bpe_tokenizer_load.cpp reads from a
// tokenizer.json and core/tokenizer/bpe_tokenizer.cpp encodes and decodes with. Immutable after loading, except for the
// mutex-guarded per-word merge cache.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/bpe_added_tokens.h"
#include "core/tokenizer/bpe_pre_tokenizer.h"
#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/bpe_unicode.h"

namespace stepwise::bpe {

struct MergeRule {
  int32_t rank;
  int32_t new_id;
};

inline uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

enum class IdKind : uint8_t { kUnused, kToken, kSpecial };

struct EncodeScratch;

struct TokenizerState {
  std::string path;

  // Encoding.
  std::vector<std::unique_ptr<AddedToken>> added_tokens;
  AddedTokenMatcher raw_matcher;         // added tokens with normalized = false, matched on the raw text
  AddedTokenMatcher normalized_matcher;  // normalized = true, matched on the normalized text
  Normalizer normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;           // the last step is the ByteLevel one
  std::array<int32_t, 256> byte_ids{};                   // id of each single-byte token, -1 when absent
  std::unordered_map<uint64_t, MergeRule> merges;        // pair_key(left, right) -> rank, merged id
  std::unordered_map<std::string, int32_t> whole_words;  // token bytes -> id; only with ignore_merges
  std::optional<int32_t> unk_id;
  bool fuse_unk = false;
  bool ignore_merges = false;

  // Lookup and decoding.
  std::unordered_map<std::string, int32_t> token_ids;  // token as written in the file -> id
  std::vector<std::string> id_bytes;                   // id -> the bytes it decodes to
  std::vector<IdKind> id_kinds;

  // Per-word merge results, shared by all callers.
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  std::vector<int64_t> encode(std::string_view text) const;
  void encode_text(std::string_view text, EncodeScratch& scratch, std::vector<int64_t>& out) const;
  void pre_tokenize(size_t step, std::string_view piece, EncodeScratch& scratch, std::vector<int64_t>& out) const;
  void encode_word(std::string_view word, EncodeScratch& scratch, std::vector<int64_t>& out) const;
  void merge_word(std::string_view word, EncodeScratch& scratch) const;
  void check_id(int64_t id) const;
};

}  // namespace stepwise::bpe
