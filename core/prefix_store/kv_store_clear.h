// Emptying a prefix store directory (`stepwise cache clear`) without touching what the store did not
// write. Entries and unfinished writes are found by the store's own naming (ROOT/<2 hex>/<32 hex>.safetensors
// and AtomicFile's ".<name>.tmp-XXXXXX" next to them) as regular files inside real shard folders; the
// marker stays. Links are never followed, so nothing outside ROOT is touched, and anything else (a user's
// files and folders, links, a FIFO where an entry belongs) is left in place and counted.
#pragma once

#include <cstdint>
#include <string>

namespace stepwise {

struct KvClearReport {
  int64_t removed = 0;  // entry files and unfinished writes removed
  int64_t left = 0;     // items the store did not write, left in place
};

// Throws stepwise::Error when ROOT is not a store. clear_kv_store (kv_disk_tier.h) is this, counting only
// what was removed.
KvClearReport clear_kv_store_files(const std::string& root);

}  // namespace stepwise
