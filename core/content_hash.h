// Content hashes for the prefix store: 128-bit XXH3 digests of token chunks, chained so that the key
// of chunk i covers every token before it, plus a 64-bit checksum for stored payloads. Two prompts
// share chunk key i exactly when they share their first (i + 1) * chunk_tokens tokens (under the same
// namespace, which the caller derives from the model identity, dtype and attention layout).
// Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepwise {

struct Hash128 {
  uint64_t high = 0;
  uint64_t low = 0;

  std::string hex() const;  // 32 lowercase hex digits, high word first
  static std::optional<Hash128> from_hex(std::string_view text);
  bool operator==(const Hash128& other) const { return high == other.high && low == other.low; }
  bool operator!=(const Hash128& other) const { return !(*this == other); }
};

struct Hash128Hasher {
  size_t operator()(const Hash128& key) const { return static_cast<size_t>(key.low ^ (key.high * 0x9E3779B97F4A7C15ull)); }
};

// Incremental XXH3-128 over any sequence of byte ranges.
class StreamingHash {
 public:
  StreamingHash();
  ~StreamingHash();
  StreamingHash(const StreamingHash&) = delete;
  StreamingHash& operator=(const StreamingHash&) = delete;

  StreamingHash& update(const void* data, size_t size);
  StreamingHash& update(std::string_view text);  // length-prefixed, so fields cannot run together
  StreamingHash& update(int64_t value);
  // `count` values as little-endian int64s, the same bytes as `count` calls of update(int64_t).
  StreamingHash& update_tokens(const int64_t* values, size_t count);
  StreamingHash& update(const Hash128& value);
  Hash128 digest() const;

 private:
  void* state_;  // XXH3_state_t
};

// Keys of the first `max_chunks` full chunks of `tokens` (fewer when the tokens run out):
// key[0] = H(space, chunk 0), key[i] = H(key[i - 1], chunk i), each chunk as little-endian int64s.
std::vector<Hash128> chained_chunk_keys(const Hash128& space, const std::vector<int64_t>& tokens, int64_t chunk_tokens,
                                        int64_t max_chunks);

// 64-bit XXH3 checksum of byte ranges taken in order (payload integrity, not identity).
uint64_t checksum64(const std::vector<std::pair<const void*, size_t>>& ranges);

}  // namespace stepwise
