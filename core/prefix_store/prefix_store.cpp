// The two tiers of the prefix store and their counters.
#include "core/prefix_store/prefix_store.h"

#include <torch/torch.h>

#include <utility>

#include "core/error.h"

namespace stepwise {

PrefixStore::PrefixStore(PrefixStoreOptions options) : options_(std::move(options)), memory_(options_.memory_bytes) {
  check(options_.memory_bytes >= 0, "prefix store: memory size must be >= 0, got ", options_.memory_bytes);
  check(options_.chunk_tokens >= 1, "prefix store: chunk_tokens must be >= 1, got ", options_.chunk_tokens);
  if (!options_.disk_path.empty()) disk_ = std::make_unique<KvDiskTier>(options_.disk_path);
}

bool PrefixStore::contains(const Hash128& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return memory_.contains(key) || (disk_ && disk_->contains(key));
}

std::optional<KvBlock> PrefixStore::find(const Hash128& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto block = memory_.find(key)) {
    ++stats_.memory_hits;
    return block;
  }
  if (disk_) {
    KvDiskTier::ReadOutcome outcome = KvDiskTier::ReadOutcome::kAbsent;
    if (auto block = disk_->read(key, &outcome)) {
      ++stats_.disk_hits;
      stats_.evictions += memory_.put(key, *block);
      return block;
    }
    if (outcome == KvDiskTier::ReadOutcome::kTorn) ++stats_.torn;
  }
  ++stats_.misses;
  return std::nullopt;
}

void PrefixStore::put(const Hash128& key, const KvBlock& block, const std::map<std::string, std::string>& labels) {
  KvBlock stored{block.keys.to(torch::kCPU).contiguous(), block.values.to(torch::kCPU).contiguous()};
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.inserts;
  stats_.evictions += memory_.put(key, stored);
  if (disk_ && !disk_->contains(key)) {
    disk_->write(key, stored, labels);
    ++stats_.disk_writes;
  }
}

PrefixStoreStats PrefixStore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PrefixStoreStats result = stats_;
  result.memory_entries = memory_.entries();
  result.memory_bytes = memory_.bytes();
  return result;
}

}  // namespace stepwise
