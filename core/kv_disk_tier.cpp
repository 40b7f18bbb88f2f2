// Entry files of the disk tier: naming, atomic writes through write_safetensors, verified reads.
#include "core/kv_disk_tier.h"

#include <torch/torch.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"

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

bool is_temporary(const fs::path& file) { return file.filename().string().rfind('.', 0) == 0; }

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
  if (!fs::exists(path, error)) {
    report(ReadOutcome::kAbsent);
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
  for (const auto& shard : fs::directory_iterator(root)) {
    if (!shard.is_directory()) continue;
    for (const auto& entry : fs::directory_iterator(shard.path())) {
      if (!entry.is_regular_file()) continue;
      if (is_temporary(entry.path())) {
        ++report.temporary_files;
        continue;
      }
      if (entry.path().extension() != kExtension) continue;
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

int64_t clear_kv_store(const std::string& root) {
  require_store(root);
  int64_t removed = 0;
  for (const auto& shard : fs::directory_iterator(root)) {
    if (!shard.is_directory()) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(shard.path()))
      if (entry.is_regular_file()) files.push_back(entry.path());
    for (const auto& file : files) removed += fs::remove(file) ? 1 : 0;
    std::error_code error;
    fs::remove(shard.path(), error);  // only succeeds when empty
  }
  return removed;
}

}  // namespace stepwise
