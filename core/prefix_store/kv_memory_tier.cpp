// LRU bookkeeping of the memory tier.
#include "core/prefix_store/kv_memory_tier.h"

namespace stepwise {

std::optional<KvBlock> KvMemoryTier::find(const Hash128& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  order_.splice(order_.begin(), order_, it->second);
  return it->second->second;
}

int64_t KvMemoryTier::put(const Hash128& key, const KvBlock& block) {
  auto existing = index_.find(key);
  if (existing != index_.end()) {
    bytes_ -= existing->second->second.bytes();
    order_.erase(existing->second);
    index_.erase(existing);
  }
  if (block.bytes() > capacity_bytes_) return 0;
  order_.emplace_front(key, block);
  index_[key] = order_.begin();
  bytes_ += block.bytes();
  int64_t evicted = 0;
  while (bytes_ > capacity_bytes_) {
    const Entry& oldest = order_.back();
    bytes_ -= oldest.second.bytes();
    index_.erase(oldest.first);
    order_.pop_back();
    ++evicted;
  }
  return evicted;
}

void KvMemoryTier::clear() {
  order_.clear();
  index_.clear();
  bytes_ = 0;
}

}  // namespace stepwise
