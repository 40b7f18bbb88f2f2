// Fuzz target: one entry file of the prefix store's disk tier (a safetensors file with "keys", "values"
// and metadata format / key / checksum / tokens). Neither the store scan nor the read may crash or throw:
// a damaged entry is counted (scan) or reported torn (read). Both must agree: the read finds the entry
// exactly when the verifying scan counts it intact, with the same token count.
// With STEPWISE_FUZZ_WRITE_SEEDS=DIR set, the target first writes intact entries into DIR (its seeds).
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/content_hash.h"
#include "core/prefix_store/kv_disk_tier.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using stepwise::Hash128;

constexpr Hash128 kKey{0x0123456789abcdefull, 0xfedcba9876543210ull};

void write_seeds(const std::string& dir) {
  const std::string store = stepwise::fuzz::scratch_dir() + "/seed-store";
  const stepwise::KvDiskTier tier(store);
  const struct {
    const char* name;
    torch::ScalarType dtype;
    int64_t tokens;
  } seeds[] = {{"f32-3tokens", torch::kFloat32, 3}, {"bf16-1token", torch::kBFloat16, 1}, {"f32-0tokens", torch::kFloat32, 0}};
  fs::create_directories(dir);
  for (const auto& seed : seeds) {
    const auto keys = torch::arange(2 * 2 * seed.tokens * 4, torch::kFloat32).reshape({2, 2, seed.tokens, 4});
    tier.write(kKey, {keys.to(seed.dtype), (-keys).to(seed.dtype)}, {{"model", "fuzz"}, {"dtype", "x"}});
    fs::copy_file(tier.path_of(kKey), fs::path(dir) / seed.name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("STEPWISE_FUZZ_WRITE_SEEDS")) write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  static const std::string root = fuzz::scratch_dir() + "/store";
  static const KvDiskTier tier(root);
  const std::string path = tier.path_of(kKey);
  fs::create_directories(fs::path(path).parent_path());
  fuzz::write_bytes(path, data, size);

  const KvStoreReport report = scan_kv_store(root, /*verify=*/true);
  FUZZ_EXPECT(report.entries + report.torn == 1);
  KvDiskTier::ReadOutcome outcome = KvDiskTier::ReadOutcome::kAbsent;
  const auto block = tier.read(kKey, &outcome);
  FUZZ_EXPECT(block.has_value() == (outcome == KvDiskTier::ReadOutcome::kFound));
  FUZZ_EXPECT(block.has_value() == (report.entries == 1));
  if (block) {
    FUZZ_EXPECT(block->keys.dim() == 4 && block->keys.sizes() == block->values.sizes());
    FUZZ_EXPECT(block->tokens() == report.tokens);
  } else {
    FUZZ_EXPECT(outcome == KvDiskTier::ReadOutcome::kTorn);
    FUZZ_EXPECT(!fs::exists(path));  // a torn entry is removed
  }
  return 0;
}
