// XXH3 (libxxhash) digests behind the prefix store's keys and checksums.
#include "core/content_hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace stepwise {

std::string Hash128::hex() const {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return text;
}

std::optional<Hash128> Hash128::from_hex(std::string_view text) {
  if (text.size() != 32) return std::nullopt;
  Hash128 value;
  for (size_t i = 0; i < 32; ++i) {
    const char c = text[i];
    uint64_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<uint64_t>(c - 'a' + 10);
    else return std::nullopt;
    uint64_t& word = i < 16 ? value.high : value.low;
    word = (word << 4) | digit;
  }
  return value;
}

StreamingHash::StreamingHash() : state_(XXH3_createState()) {
  check(state_ != nullptr, "out of memory creating a hash state");
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}

StreamingHash::~StreamingHash() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

StreamingHash& StreamingHash::update(const void* data, size_t size) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), data, size);
  return *this;
}

StreamingHash& StreamingHash::update(std::string_view text) {
  update(static_cast<int64_t>(text.size()));
  return update(text.data(), text.size());
}

StreamingHash& StreamingHash::update(int64_t value) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(value) >> (8 * i));
  return update(bytes, sizeof bytes);
}

StreamingHash& StreamingHash::update_tokens(const int64_t* values, size_t count) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return update(values, count * sizeof(int64_t));  // already little-endian in memory: one pass
#else
  for (size_t i = 0; i < count; ++i) update(values[i]);
  return *this;
#endif
}

StreamingHash& StreamingHash::update(const Hash128& value) {
  update(static_cast<int64_t>(value.high));
  return update(static_cast<int64_t>(value.low));
}

Hash128 StreamingHash::digest() const {
  const XXH128_hash_t digest = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  return {digest.high64, digest.low64};
}

std::vector<Hash128> chained_chunk_keys(const Hash128& space, const std::vector<int64_t>& tokens, int64_t chunk_tokens,
                                        int64_t max_chunks) {
  check(chunk_tokens >= 1, "prefix store: chunk_tokens must be >= 1, got ", chunk_tokens);
  const int64_t full = static_cast<int64_t>(tokens.size()) / chunk_tokens;
  const int64_t count = std::max<int64_t>(0, std::min(full, max_chunks));
  std::vector<Hash128> keys;
  keys.reserve(static_cast<size_t>(count));
  Hash128 previous = space;
  for (int64_t chunk = 0; chunk < count; ++chunk) {
    StreamingHash hash;
    hash.update(previous);
    hash.update_tokens(tokens.data() + chunk * chunk_tokens, static_cast<size_t>(chunk_tokens));
    previous = hash.digest();
    keys.push_back(previous);
  }
  return keys;
}

uint64_t checksum64(const std::vector<std::pair<const void*, size_t>>& ranges) {
  XXH3_state_t* state = XXH3_createState();
  check(state != nullptr, "out of memory creating a hash state");
  XXH3_64bits_reset(state);
  for (const auto& [data, size] : ranges) XXH3_64bits_update(state, data, size);
  const uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return digest;
}

}  // namespace stepwise
