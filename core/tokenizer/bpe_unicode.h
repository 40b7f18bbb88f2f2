// Unicode helpers of the byte-level BPE tokenizer (internal to core/bpe_*.cpp): UTF-8 validation, decoding and
// repair, the character classes of the reference library's added-token rules, GPT-2's byte <-> code point
// alphabet, and chains of ICU normalization forms. No tokenizer logic lives here.
#pragma once

#include <unicode/normalizer2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepwise::bpe {

// Length of the well-formed UTF-8 sequence starting at text[pos], or 0 when there is none; then `bad_length`
// gets the length of the maximal ill-formed subpart there (Unicode 3.9, table 3-7), at least 1.
size_t utf8_sequence_length(std::string_view text, size_t pos, size_t* bad_length);
// Byte offset of the first ill-formed sequence, or npos when `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);
// Replaces each maximal ill-formed subpart by U+FFFD, as Rust's String::from_utf8_lossy does.
std::string repair_utf8(std::string_view bytes);
// Code point of the valid UTF-8 sequence at text[pos]; `length` receives its byte length.
char32_t code_point_at(std::string_view text, size_t pos, size_t* length);
// Start of the code point that ends at `end` (> 0) in valid UTF-8.
size_t previous_code_point_start(std::string_view text, size_t end);
void append_utf8(std::string& out, char32_t cp);
bool is_ascii(std::string_view text);

// `\s` and `\w` as the reference library's regex crate defines them (White_Space; Alphabetic, marks,
// decimal digits, connector punctuation, Join_Control).
bool is_unicode_space(char32_t cp);
bool is_word_char(char32_t cp);

// GPT-2's reversible byte -> printable code point table: printable Latin-1 bytes keep their value, the other
// 68 bytes take U+0100 onwards in byte order (so the space byte becomes 'Ġ' U+0120).
class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();
  // UTF-8 of the symbol standing for `byte`.
  std::string symbol(uint8_t byte) const;
  // The bytes a byte-level token stands for; nullopt when it holds a character outside the alphabet.
  std::optional<std::string> to_bytes(std::string_view token) const;

 private:
  std::array<char32_t, 256> code_points_{};
  std::array<int16_t, 512> bytes_{};  // code point -> byte, -1 outside the alphabet
};

// A chain of Unicode normalization forms (ICU's instances are process-wide and thread-safe).
class Normalizer {
 public:
  // Appends the form named NFC, NFD, NFKC or NFKD; false for any other name.
  bool add(const std::string& name);
  bool empty() const { return forms_.empty(); }
  // Returns `text` itself when already normalized, else a view of `storage`. Text must be valid UTF-8.
  std::string_view apply(std::string_view text, std::string& storage) const;

 private:
  std::vector<const icu::Normalizer2*> forms_;
};

}  // namespace stepwise::bpe
