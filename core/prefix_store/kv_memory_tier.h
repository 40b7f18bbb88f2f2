// The prefix store's memory tier: KV blocks by key, bounded in bytes, least recently used evicted
// first. Not thread-safe on its own (PrefixStore serialises access).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/content_hash.h"
#include "core/prefix_store/kv_block.h"

namespace stepwise {

class KvMemoryTier {
 public:
  explicit KvMemoryTier(int64_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  bool contains(const Hash128& key) const { return index_.count(key) > 0; }
  // The block, marked most recently used; nullopt when absent.
  std::optional<KvBlock> find(const Hash128& key);
  // Inserts (or refreshes) `block`, then evicts least recently used blocks until the tier fits its
  // capacity. A block larger than the whole capacity is not kept. Returns the number evicted.
  int64_t put(const Hash128& key, const KvBlock& block);
  void clear();

  int64_t entries() const { return static_cast<int64_t>(index_.size()); }
  int64_t bytes() const { return bytes_; }
  int64_t capacity_bytes() const { return capacity_bytes_; }

 private:
  using Entry = std::pair<Hash128, KvBlock>;
  int64_t capacity_bytes_;
  int64_t bytes_ = 0;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<Hash128, std::list<Entry>::iterator, Hash128Hasher> index_;
};

}  // namespace stepwise
