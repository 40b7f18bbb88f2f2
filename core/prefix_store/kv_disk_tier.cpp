// Entry files of the disk tier: naming, atomic writes through write_safetensors, verified reads, and the
// scans of `stepwise cache`. Links are never followed; a link, FIFO or folder where an entry belongs counts
// as torn and is never opened (nor removed: the store did not write it).
#include "core/prefix_store/kv_disk_tier.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/prefix_store/kv_store_clear.h"
#include "core/tensor/safetensors.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;

constexpr char kMarker[] = "STEPWISE_KV_STORE";
constexpr char kFormat[] = "stepwise-kv/1";
constexpr char kExtension[] = ".safetensors";

uint64_t checksum_of(const KvBlock& block) {
  return checksum64({{block.keys.data_ptr(), block.keys.nbytes()}, {block.values.data_ptr(), block.values.nbytes()}});
}

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

bool is_store(const fs::path& root) { return fs::exists(root / kMarker); }

void require_store(const std::string& root) {
  check(fs::is_directory(root), root, ": no such prefix store directory");
  check(is_store(root), root, ": not a prefix store (no ", kMarker, " marker file)");
}

// A shard folder: the first two hex digits of its entries' keys.
bool is_shard_name(const std::string& name) {
  return name.size() == 2 && std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isxdigit(c) && !std::isupper(c); });
}

// "<32 hex digits>.safetensors" whose key starts with `shard`.
bool is_entry_name(const std::string& name, const std::string& shard) {
  const std::string extension = kExtension;
  if (name.size() != 32 + extension.size() || name.compare(32, std::string::npos, extension) != 0) return false;
  const auto key = Hash128::from_hex(name.substr(0, 32));
  return key.has_value() && key->hex() == name.substr(0, 32) && name.compare(0, 2, shard) == 0;
}

// AtomicFile's temporary names: ".<target name>.tmp-XXXXXX".
bool is_temporary_name(const std::string& name) {
  const size_t tag = name.rfind(".tmp-");
  return name.size() > 1 && name[0] == '.' && tag != std::string::npos && tag > 1 && name.size() == tag + 11;
}

// The target name a temporary name stands for.
std::string temporary_target(const std::string& name) { return name.substr(1, name.rfind(".tmp-") - 1); }

// Checks an open entry's metadata and tensor shapes; throws stepwise::Error describing the first failed
// check. Returns the entry's token count.
int64_t check_entry_header(const SafetensorsFile& file, const std::optional<Hash128>& expected_key) {
  const std::string& path = file.path();
  const auto& metadata = file.metadata();
  auto field = [&](const char* name) {
    auto it = metadata.find(name);
    check(it != metadata.end(), path, ": entry metadata lacks '", name, "'");
    return it->second;
  };
  check(field("format") == kFormat, path, ": unknown entry format '", field("format"), "'");
  if (expected_key) check(field("key") == expected_key->hex(), path, ": entry holds key ", field("key"));
  field("checksum");
  check(file.contains("keys") && file.contains("values"), path, ": entry lacks its keys or values tensor");
  check(file.info("keys").shape.size() == 4 && file.info("keys").shape == file.info("values").shape, path,
        ": entry keys and values are not matching (L, H, n, D) tensors");
  return file.info("keys").shape[2];
}

// Loads an entry's tensors and verifies the payload checksum; throws stepwise::Error on a mismatch.
KvBlock load_verified(const SafetensorsFile& file) {
  KvBlock block{file.load("keys"), file.load("values")};
  check(hex64(checksum_of(block)) == file.metadata().at("checksum"), file.path(), ": entry checksum mismatch");
  return block;
}

}  // namespace

KvDiskTier::KvDiskTier(std::string root) : root_(std::move(root)) {
  check(!root_.empty(), "prefix store: empty disk path");
  std::error_code error;
  fs::create_directories(root_, error);
  check(!error && fs::is_directory(root_), root_, ": cannot create the prefix store directory (", error.message(), ")");
  if (!is_store(root_)) {
    check(fs::is_empty(root_), root_, ": exists, is not empty and is not a prefix store (no ", kMarker,
          " marker); choose an empty or new directory");
    write_file_atomically((fs::path(root_) / kMarker).string(), std::string(kFormat) + "\n");
  }
}

std::string KvDiskTier::path_of(const Hash128& key) const {
  const std::string hex = key.hex();
  return (fs::path(root_) / hex.substr(0, 2) / (hex + kExtension)).string();
}

bool KvDiskTier::contains(const Hash128& key) const {
  std::error_code error;
  return fs::exists(path_of(key), error);
}

std::optional<KvBlock> KvDiskTier::read(const Hash128& key, ReadOutcome* outcome) const {
  const std::string path = path_of(key);
  auto report = [&](ReadOutcome value) {
    if (outcome) *outcome = value;
  };
  std::error_code error;
  const fs::file_status status = fs::symlink_status(path, error);
  if (!fs::exists(status)) {
    report(ReadOutcome::kAbsent);
    return std::nullopt;
  }
  if (!fs::is_regular_file(status)) {
    // A link, FIFO or folder where an entry belongs: the store did not write it, so it is neither
    // opened (a FIFO would block) nor removed; it counts as torn.
    report(ReadOutcome::kTorn);
    return std::nullopt;
  }
  try {
    SafetensorsFile file(path);
    check_entry_header(file, key);
    KvBlock block = load_verified(file);
    report(ReadOutcome::kFound);
    return block;
  } catch (const std::exception&) {
    // Damaged: never used. Removing it lets the next write of this key replace it.
    fs::remove(path, error);
    report(ReadOutcome::kTorn);
    return std::nullopt;
  }
}

void KvDiskTier::write(const Hash128& key, const KvBlock& block,
                       const std::map<std::string, std::string>& labels) const {
  KvBlock contiguous{block.keys.to(torch::kCPU).contiguous(), block.values.to(torch::kCPU).contiguous()};
  std::map<std::string, std::string> metadata = labels;
  metadata["format"] = kFormat;
  metadata["key"] = key.hex();
  metadata["checksum"] = hex64(checksum_of(contiguous));
  metadata["tokens"] = std::to_string(contiguous.tokens());
  write_safetensors(path_of(key), {{"keys", contiguous.keys}, {"values", contiguous.values}}, metadata);
}

KvStoreReport scan_kv_store(const std::string& root, bool verify) {
  require_store(root);
  KvStoreReport report;
  std::error_code error;
  // Links are never followed: only real shard folders are looked into, only regular files read.
  for (const auto& shard : fs::directory_iterator(root)) {
    if (!shard.is_directory(error) || shard.is_symlink(error) || !is_shard_name(shard.path().filename().string()))
      continue;
    for (const auto& entry : fs::directory_iterator(shard.path())) {
      const std::string name = entry.path().filename().string();
      if (is_temporary_name(name) && is_entry_name(temporary_target(name), shard.path().filename().string())) {
        ++report.temporary_files;
        continue;
      }
      if (entry.path().extension() != kExtension) continue;
      if (!entry.is_regular_file(error) || entry.is_symlink(error)) {
        ++report.torn;  // a link, FIFO or folder where an entry belongs: bad, and never opened
        continue;
      }
      try {
        const auto key = Hash128::from_hex(entry.path().stem().string());
        check(key.has_value(), entry.path().string(), ": entry name is not a key");
        SafetensorsFile file(entry.path().string());
        const int64_t tokens = check_entry_header(file, key);
        if (verify) load_verified(file);
        auto label = [&](const char* name) {
          auto it = file.metadata().find(name);
          return it == file.metadata().end() ? std::string("?") : it->second;
        };
        ++report.entries;
        report.bytes += static_cast<int64_t>(entry.file_size());
        report.tokens += tokens;
        ++report.entries_by_label["model=" + label("model") + " dtype=" + label("dtype")];
      } catch (const std::exception&) {
        ++report.torn;
      }
    }
  }
  return report;
}

KvClearReport clear_kv_store_files(const std::string& root) {
  require_store(root);
  KvClearReport report;
  std::error_code error;
  const fs::path store = fs::canonical(root);
  // Everything in the folder is looked at without following links: what the store wrote (regular files
  // named as its entries or unfinished writes, inside real shard folders, and unfinished writes of its
  // marker) is removed; anything else, links included, is left and counted.
  for (const auto& item : fs::directory_iterator(store)) {
    const std::string name = item.path().filename().string();
    const fs::file_status status = item.symlink_status(error);
    if (name == kMarker) continue;
    if (fs::is_regular_file(status) && is_temporary_name(name) && name.rfind(std::string(".") + kMarker, 0) == 0) {
      report.removed += fs::remove(item.path(), error) ? 1 : 0;
      continue;
    }
    if (!fs::is_directory(status) || !is_shard_name(name)) {
      ++report.left;
      continue;
    }
    std::vector<fs::path> owned;
    for (const auto& entry : fs::directory_iterator(item.path())) {
      const std::string file = entry.path().filename().string();
      const bool named_by_store = is_entry_name(file, name) || (is_temporary_name(file) && is_entry_name(
                                                                   temporary_target(file), name));
      if (named_by_store && fs::is_regular_file(entry.symlink_status(error))) owned.push_back(entry.path());
      else ++report.left;
    }
    for (const auto& file : owned) {
      // The shard is a real folder directly inside the store, so its files are too; checked all the same.
      TORCH_INTERNAL_ASSERT(fs::canonical(file.parent_path()) == store / name);
      report.removed += fs::remove(file, error) ? 1 : 0;
    }
    fs::remove(item.path(), error);  // only succeeds when empty
  }
  return report;
}

int64_t clear_kv_store(const std::string& root) { return clear_kv_store_files(root).removed; }

}  // namespace stepwise
