// A content-addressed store of attention keys and values, so that work on a prompt prefix seen
// before (by this process or, through the disk tier, by an earlier one) is not repeated. Entries are
// addressed by 128-bit content keys (content_hash.h); callers derive keys from the model identity,
// dtype, attention layout and tokens, so KV never crosses models (decoders/prefix_reuse.h).
// Two tiers: memory (bounded, least recently used evicted) and an optional directory on disk
// (kv_disk_tier.h). A disk hit is promoted to memory. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/content_hash.h"
#include "core/prefix_store/kv_block.h"
#include "core/prefix_store/kv_disk_tier.h"
#include "core/prefix_store/kv_memory_tier.h"

namespace stepwise {

struct PrefixStoreOptions {
  int64_t memory_bytes = int64_t{256} << 20;  // memory tier bound
  std::string disk_path;                      // empty: memory only
  int64_t chunk_tokens = 32;                  // tokens per entry for causal prefixes
};

struct PrefixStoreStats {
  int64_t memory_hits = 0;
  int64_t disk_hits = 0;
  int64_t misses = 0;
  int64_t inserts = 0;      // blocks put
  int64_t disk_writes = 0;  // entries written to disk
  int64_t evictions = 0;    // memory tier
  int64_t torn = 0;         // damaged disk entries detected (and ignored)
  int64_t memory_entries = 0;
  int64_t memory_bytes = 0;
};

class PrefixStore {
 public:
  // Throws stepwise::Error for a bad option or an unusable disk path.
  explicit PrefixStore(PrefixStoreOptions options);

  const PrefixStoreOptions& options() const { return options_; }
  int64_t chunk_tokens() const { return options_.chunk_tokens; }

  // Whether `key` is held in either tier (a disk entry is not verified here; find() does that).
  bool contains(const Hash128& key) const;
  // The block for `key` from memory, else from disk (verified, then kept in memory); nullopt on a miss.
  std::optional<KvBlock> find(const Hash128& key);
  // Keeps `block` (copied to CPU, contiguous) in memory and, when there is a disk tier and the entry
  // is not on disk yet, writes it there with `labels` as metadata.
  void put(const Hash128& key, const KvBlock& block, const std::map<std::string, std::string>& labels = {});

  PrefixStoreStats stats() const;

 private:
  PrefixStoreOptions options_;
  mutable std::mutex mutex_;
  KvMemoryTier memory_;
  std::unique_ptr<KvDiskTier> disk_;
  PrefixStoreStats stats_;
};

}  // namespace stepwise
