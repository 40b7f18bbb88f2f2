// UTF-8, Unicode classes, the byte-level alphabet and ICU normalization for the byte-level BPE tokenizer.
#include "core/tokenizer/bpe_unicode.h"

#include <unicode/bytestream.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>

#include <climits>

#include "core/error.h"

namespace stepwise::bpe {

size_t utf8_sequence_length(std::string_view text, size_t pos, size_t* bad_length) {
  const auto byte_at = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte_at(pos);
  if (lead < 0x80) return 1;
  size_t tail = 0;
  uint8_t low = 0x80, high = 0xBF;  // allowed range of the first continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    tail = 1;
  } else if (lead == 0xE0) {
    tail = 2, low = 0xA0;
  } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
    tail = 2;
  } else if (lead == 0xED) {
    tail = 2, high = 0x9F;
  } else if (lead == 0xF0) {
    tail = 3, low = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    tail = 3;
  } else if (lead == 0xF4) {
    tail = 3, high = 0x8F;
  } else {
    *bad_length = 1;
    return 0;
  }
  size_t i = 1;
  for (; i <= tail && pos + i < text.size(); ++i) {
    const uint8_t b = byte_at(pos + i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xBF)) break;
  }
  if (i > tail) return tail + 1;
  *bad_length = i;
  return 0;
}

size_t find_invalid_utf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t bad = 0;
    const size_t length = utf8_sequence_length(text, pos, &bad);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

std::string repair_utf8(std::string_view bytes) {
  if (find_invalid_utf8(bytes) == std::string_view::npos) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t bad = 0;
    const size_t length = utf8_sequence_length(bytes, pos, &bad);
    if (length > 0) {
      out.append(bytes.substr(pos, length));
      pos += length;
    } else {
      out.append("\xEF\xBF\xBD");
      pos += bad;
    }
  }
  return out;
}

char32_t code_point_at(std::string_view text, size_t pos, size_t* length) {
  const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(text[pos + i])); };
  const char32_t lead = b(0);
  if (lead < 0x80) {
    *length = 1;
    return lead;
  }
  if (lead < 0xE0) {
    *length = 2;
    return ((lead & 0x1F) << 6) | (b(1) & 0x3F);
  }
  if (lead < 0xF0) {
    *length = 3;
    return ((lead & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  }
  *length = 4;
  return ((lead & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

size_t previous_code_point_start(std::string_view text, size_t end) {
  size_t pos = end - 1;
  while (pos > 0 && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

bool is_unicode_space(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }

bool is_word_char(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

ByteLevelAlphabet::ByteLevelAlphabet() {
  bytes_.fill(-1);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    code_points_[b] = printable ? static_cast<char32_t>(b) : next++;
    bytes_[code_points_[b]] = static_cast<int16_t>(b);
  }
}

std::string ByteLevelAlphabet::symbol(uint8_t byte) const {
  std::string out;
  append_utf8(out, code_points_[byte]);
  return out;
}

std::optional<std::string> ByteLevelAlphabet::to_bytes(std::string_view token) const {
  std::string bytes;
  bytes.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    size_t length = 0;
    const char32_t cp = code_point_at(token, pos, &length);
    if (cp >= bytes_.size() || bytes_[cp] < 0) return std::nullopt;
    bytes += static_cast<char>(bytes_[cp]);
    pos += length;
  }
  return bytes;
}

bool Normalizer::add(const std::string& name) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* form = nullptr;
  if (name == "NFC") {
    form = icu::Normalizer2::getNFCInstance(status);
  } else if (name == "NFD") {
    form = icu::Normalizer2::getNFDInstance(status);
  } else if (name == "NFKC") {
    form = icu::Normalizer2::getNFKCInstance(status);
  } else if (name == "NFKD") {
    form = icu::Normalizer2::getNFKDInstance(status);
  } else {
    return false;
  }
  check(U_SUCCESS(status) && form != nullptr, "ICU cannot provide the ", name, " normalizer: ", u_errorName(status));
  forms_.push_back(form);
  return true;
}

std::string_view Normalizer::apply(std::string_view text, std::string& storage) const {
  if (forms_.empty() || is_ascii(text)) return text;  // every form leaves ASCII alone
  check(text.size() < static_cast<size_t>(INT32_MAX), "text too long to normalize (", text.size(), " bytes)");
  for (const icu::Normalizer2* form : forms_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
    if (form->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) continue;
    std::string normalized;
    icu::StringByteSink<std::string> sink(&normalized);
    status = U_ZERO_ERROR;
    form->normalizeUTF8(0, piece, sink, nullptr, status);
    check(U_SUCCESS(status), "Unicode normalization failed: ", u_errorName(status));
    storage.swap(normalized);
    text = storage;
  }
  return text;
}

}  // namespace stepwise::bpe
