// The prefix store's disk tier: one safetensors file per entry under a store directory, so entries
// survive restarts and can be shared by processes. Layout: ROOT/STEPWISE_KV_STORE (marker),
// ROOT/<first 2 hex digits>/<32 hex digits>.safetensors with tensors "keys" and "values" and metadata
// {format, key, checksum, tokens, plus labels such as the model identity and dtype}.
// Writes go to a temporary file that is renamed into place only once complete and synced, so a reader
// sees a whole entry or none. An entry that is nevertheless damaged (a crash on a file system that
// reorders writes, a truncated copy, bit rot) fails its checks (parse, key, shapes, checksum): it is
// reported as torn, removed, and never used.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/content_hash.h"
#include "core/prefix_store/kv_block.h"

namespace stepwise {

class KvDiskTier {
 public:
  // Creates ROOT and its marker when absent. Throws stepwise::Error when ROOT exists, holds other
  // files and has no marker (refusing to write into a directory that is not a store).
  explicit KvDiskTier(std::string root);

  const std::string& root() const { return root_; }
  std::string path_of(const Hash128& key) const;
  bool contains(const Hash128& key) const;

  enum class ReadOutcome { kFound, kAbsent, kTorn };
  // The entry's block (CPU, stored dtype) when present and intact.
  std::optional<KvBlock> read(const Hash128& key, ReadOutcome* outcome = nullptr) const;
  // Writes the entry atomically (replacing any entry of the same key).
  void write(const Hash128& key, const KvBlock& block, const std::map<std::string, std::string>& labels) const;

 private:
  std::string root_;
};

// What `stepwise cache stats` shows of a store directory.
struct KvStoreReport {
  int64_t entries = 0;
  int64_t bytes = 0;              // entry files
  int64_t tokens = 0;             // summed over entries
  int64_t temporary_files = 0;    // unfinished writes (in progress, or left by a crash)
  int64_t torn = 0;               // entries failing their checks (header and shapes; with verify also
                                  // the payload checksum)
  std::map<std::string, int64_t> entries_by_label;  // "model=<id> dtype=<dtype>" -> entries
};

// Reads every entry's header (and with `verify` its whole payload and checksum). Throws when ROOT is not
// a store.
KvStoreReport scan_kv_store(const std::string& root, bool verify);
// Removes every entry and temporary file (keeps the marker). Returns the number of files removed.
int64_t clear_kv_store(const std::string& root);

}  // namespace stepwise
