// The prefix store: chained content keys, the LRU memory tier, the disk tier across restarts and
// against damaged entries, model identities, and reuse in the AR and diffusion decoders (greedy output
// with reuse equals output without it).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <random>
#include <vector>

#include "core/content_hash.h"
#include "core/error.h"
#include "core/prefix_store/kv_disk_tier.h"
#include "core/prefix_store/kv_memory_tier.h"
#include "core/prefix_store/kv_store_clear.h"
#include "core/prefix_store/prefix_store.h"
#include "decoders/ar_decoder.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/prefix_reuse.h"
#include "decoders/request_order.h"
#include "decoders/speculative_decoder.h"
#include "models/checkpoint.h"
#include "models/model_identity.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::fixture_model;
using testing::TempDir;

namespace fs = std::filesystem;

// A block of `tokens` positions with values derived from `seed`: (L=2, H=2, n, D=4).
KvBlock block_of(int64_t tokens, double seed) {
  torch::Tensor keys = torch::arange(2 * 2 * tokens * 4, torch::kFloat32).view({2, 2, tokens, 4}) + seed;
  return {keys, -keys};
}

std::vector<int64_t> random_tokens(size_t count, uint32_t seed, int64_t vocab = 380) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> pick(1, vocab - 1);
  std::vector<int64_t> out(count);
  for (auto& token : out) token = pick(rng);
  return out;
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(ContentHash, ChainedKeysCoverEverythingBefore) {
  const Hash128 space = StreamingHash().update(std::string_view("space")).digest();
  const std::vector<int64_t> shared = random_tokens(16, 1);
  const auto a = chained_chunk_keys(space, concat(shared, random_tokens(9, 2)), 8, 100);
  const auto b = chained_chunk_keys(space, concat(shared, random_tokens(9, 3)), 8, 100);
  ASSERT_EQ(a.size(), 3u);  // 25 tokens: 3 full chunks of 8
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_NE(a[2], b[2]);
  // A change in chunk 0 changes every later key, even when the later chunks are equal.
  std::vector<int64_t> changed = concat(shared, random_tokens(9, 2));
  changed[3] += 1;
  const auto c = chained_chunk_keys(space, changed, 8, 100);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(a[i], c[i]);
  // Another space shares nothing; max_chunks limits the count.
  const Hash128 other = StreamingHash().update(std::string_view("other")).digest();
  EXPECT_NE(chained_chunk_keys(other, concat(shared, random_tokens(9, 2)), 8, 100)[0], a[0]);
  EXPECT_EQ(chained_chunk_keys(space, concat(shared, random_tokens(9, 2)), 8, 2).size(), 2u);
  // Bulk token hashing is byte-for-byte the per-token form.
  const std::vector<int64_t> tokens = random_tokens(13, 9);
  StreamingHash one_by_one;
  for (int64_t token : tokens) one_by_one.update(token);
  EXPECT_EQ(StreamingHash().update_tokens(tokens.data(), tokens.size()).digest(), one_by_one.digest());
  // Hex round trip.
  EXPECT_EQ(Hash128::from_hex(a[2].hex()), a[2]);
  EXPECT_FALSE(Hash128::from_hex("xyz").has_value());
}

TEST(KvMemoryTier, EvictsLeastRecentlyUsedBeyondItsBound) {
  const KvBlock block = block_of(4, 0);  // 2 * 64 floats = 512 bytes
  KvMemoryTier tier(2 * block.bytes());
  const Hash128 a{0, 1}, b{0, 2}, c{0, 3};
  tier.put(a, block_of(4, 1));
  tier.put(b, block_of(4, 2));
  ASSERT_TRUE(tier.find(a).has_value());  // a is now the most recent
  EXPECT_EQ(tier.put(c, block_of(4, 3)), 1);
  EXPECT_TRUE(tier.contains(a));
  EXPECT_FALSE(tier.contains(b));
  EXPECT_TRUE(tier.contains(c));
  EXPECT_EQ(tier.bytes(), 2 * block.bytes());
  EXPECT_TRUE(torch::equal(tier.find(c)->keys, block_of(4, 3).keys));
  // A block larger than the whole tier is not kept.
  EXPECT_EQ(tier.put(Hash128{0, 4}, block_of(64, 0)), 0);
  EXPECT_FALSE(tier.contains(Hash128{0, 4}));
}

TEST(PrefixStoreDisk, EntriesSurviveARestart) {
  TempDir dir;
  const std::string root = dir.file("store");
  const Hash128 key{7, 9};
  {
    PrefixStore store({1 << 20, root, 8});
    store.put(key, block_of(8, 5), {{"model", "m"}, {"dtype", "float"}});
    EXPECT_EQ(store.stats().disk_writes, 1);
  }
  PrefixStore reopened({1 << 20, root, 8});
  EXPECT_TRUE(reopened.contains(key));
  std::optional<KvBlock> block = reopened.find(key);
  ASSERT_TRUE(block.has_value());
  EXPECT_TRUE(torch::equal(block->keys, block_of(8, 5).keys));
  EXPECT_TRUE(torch::equal(block->values, block_of(8, 5).values));
  EXPECT_EQ(reopened.stats().disk_hits, 1);
  ASSERT_TRUE(reopened.find(key).has_value());  // now from memory
  EXPECT_EQ(reopened.stats().memory_hits, 1);
  const KvStoreReport report = scan_kv_store(root, true);
  EXPECT_EQ(report.entries, 1);
  EXPECT_EQ(report.tokens, 8);
  EXPECT_EQ(report.torn, 0);
  EXPECT_EQ(report.entries_by_label.at("model=m dtype=float"), 1);
}

// Damages the entry file of `key` with `damage` and checks that a fresh store ignores it.
void expect_torn_entry_ignored(const std::function<void(const std::string&)>& damage) {
  TempDir dir;
  const std::string root = dir.file("store");
  const Hash128 key{1, 2};
  KvDiskTier disk(root);
  disk.write(key, block_of(8, 3), {});
  damage(disk.path_of(key));
  PrefixStore store({1 << 20, root, 8});
  EXPECT_FALSE(store.find(key).has_value());
  EXPECT_EQ(store.stats().torn, 1);
  EXPECT_EQ(store.stats().misses, 1);
  EXPECT_FALSE(fs::exists(disk.path_of(key)));  // removed, so a later write can replace it
  store.put(key, block_of(8, 3));
  PrefixStore again({1 << 20, root, 8});
  ASSERT_TRUE(again.find(key).has_value());
}

TEST(PrefixStoreDisk, TruncatedEntryIsDetectedAndNeverUsed) {
  expect_torn_entry_ignored([](const std::string& path) { fs::resize_file(path, fs::file_size(path) - 100); });
}

TEST(PrefixStoreDisk, CorruptedPayloadIsDetectedAndNeverUsed) {
  expect_torn_entry_ignored([](const std::string& path) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-5, std::ios::end);
    file.put('\x7f');
  });
}

TEST(PrefixStoreDisk, GarbageHeaderIsDetectedAndNeverUsed) {
  expect_torn_entry_ignored([](const std::string& path) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << "not a safetensors file";
  });
}

TEST(PrefixStoreDisk, UnfinishedWritesAreIgnoredAndCleared) {
  TempDir dir;
  const std::string root = dir.file("store");
  KvDiskTier disk(root);
  disk.write(Hash128{3, 4}, block_of(8, 1), {});
  const fs::path shard = fs::path(disk.path_of(Hash128{3, 4})).parent_path();
  std::ofstream(shard / ("." + fs::path(disk.path_of(Hash128{3, 4})).filename().string() + ".tmp-abc123")) << "half";
  const KvStoreReport report = scan_kv_store(root, false);
  EXPECT_EQ(report.entries, 1);
  EXPECT_EQ(report.temporary_files, 1);
  EXPECT_EQ(clear_kv_store(root), 2);
  EXPECT_EQ(scan_kv_store(root, false).entries, 0);
  EXPECT_TRUE(fs::exists(fs::path(root) / "STEPWISE_KV_STORE"));
}

TEST(PrefixStoreDisk, NonRegularEntryIsCountedTornNeverOpenedNorRemoved) {
  TempDir dir;
  const std::string root = dir.file("store");
  const Hash128 key{5, 6};
  KvDiskTier disk(root);
  disk.write(key, block_of(8, 2), {});
  const std::string path = disk.path_of(key);
  fs::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
  auto reading = std::async(std::launch::async, [&] {
    PrefixStore store({1 << 20, root, 8});
    const bool found = store.find(key).has_value();
    return std::make_pair(found, store.stats().torn);
  });
  if (reading.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    const int writer = ::open(path.c_str(), O_WRONLY);  // lets the blocked reader return
    if (writer >= 0) ::close(writer);
    reading.wait();
    FAIL() << "reading a FIFO in place of an entry blocked";
  }
  const auto [found, torn] = reading.get();
  EXPECT_FALSE(found);
  EXPECT_EQ(torn, 1);
  EXPECT_TRUE(fs::is_fifo(path));  // not the store's file: left alone
  const KvStoreReport report = scan_kv_store(root, true);
  EXPECT_EQ(report.entries, 0);
  EXPECT_EQ(report.torn, 1);
  const KvClearReport cleared = clear_kv_store_files(root);
  EXPECT_EQ(cleared.removed, 0);
  EXPECT_EQ(cleared.left, 1);
  EXPECT_TRUE(fs::is_fifo(path));
}

TEST(PrefixStoreDisk, RefusesADirectoryThatIsNotAStore) {
  TempDir dir;
  std::ofstream(dir.file("notes.txt")) << "mine";
  EXPECT_THROW(KvDiskTier(dir.path().string()), Error);
  EXPECT_THROW(scan_kv_store(dir.path().string(), false), Error);
  EXPECT_THROW(clear_kv_store(dir.path().string()), Error);
  EXPECT_TRUE(fs::exists(dir.file("notes.txt")));
}

TEST(ModelIdentity, SameWeightsAgreeAndAnyDifferenceDisagrees) {
  auto a = load_checkpoint(fixture_model("qwen2-tiny"));
  auto b = load_checkpoint(fixture_model("qwen2-tiny"));
  EXPECT_EQ(model_identity(*a), model_identity(*b));
  LoadOptions bf16;
  bf16.dtype = torch::kBFloat16;
  EXPECT_NE(model_identity(*a), model_identity(*load_checkpoint(fixture_model("qwen2-tiny"), bf16)));
  EXPECT_NE(model_identity(*a), model_identity(*load_checkpoint(fixture_model("llama-tiny"))));
  {
    torch::NoGradGuard no_grad;
    b->named_parameters().back().second.view(-1)[0].add_(1e-3);
  }
  EXPECT_NE(model_identity(*a), model_identity(*b));
}

TEST(PrefixReuse, KeysNeverCrossModelsOrDtypes) {
  auto store = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, "", 8});
  auto model = load_checkpoint(fixture_model("qwen2-tiny"));
  const std::string identity = model_identity(*model);
  const std::vector<int64_t> prompt = random_tokens(30, 4);
  auto reuse = std::make_shared<PrefixReuse>(store, identity, torch::kFloat32);
  ArDecoder decoder(model, ArConfig{}, reuse);
  decoder.decode(DecodeRequest{{prompt}, 2, {}, false});
  EXPECT_EQ(reuse->cached_prefix_tokens(prompt), 24);  // 3 chunks before the last token
  EXPECT_EQ(decoder.prefill_tokens(prompt), 6);
  EXPECT_EQ(PrefixReuse(store, identity, torch::kBFloat16).cached_prefix_tokens(prompt), 0);
  EXPECT_EQ(PrefixReuse(store, "another-model", torch::kFloat32).cached_prefix_tokens(prompt), 0);
  // A prompt of exactly 3 chunks can reuse only 2: its last token is always fed.
  EXPECT_EQ(reuse->cached_prefix_tokens(std::vector<int64_t>(prompt.begin(), prompt.begin() + 24)), 16);
}

struct ArCase {
  const char* model;
  bool bfloat16;
};

class ArReuse : public ::testing::TestWithParam<ArCase> {};

TEST_P(ArReuse, GreedyOutputEqualsOutputWithoutReuse) {
  LoadOptions options;
  if (GetParam().bfloat16) options.dtype = torch::kBFloat16;
  auto model = load_checkpoint(fixture_model(GetParam().model), options);
  // A shared 37-token prefix, then questions of 3 to 12 tokens; one unrelated prompt.
  const std::vector<int64_t> shared = random_tokens(37, 11);
  std::vector<std::vector<int64_t>> prompts;
  for (uint32_t i = 0; i < 6; ++i) prompts.push_back(concat(shared, random_tokens(3 + 2 * i, 20 + i)));
  prompts.push_back(random_tokens(21, 99));
  ArConfig config;
  config.stop_on_eos = false;
  const DecodeResult expected = ArDecoder(model, config).decode(DecodeRequest{prompts, 6, {}, false});
  // Reused keys and values were computed with other shapes than a fresh prefill: equal up to rounding,
  // so the tokens are comparable only as far as every greedy step is decided beyond twice the bound.
  // float32: all 6 steps of every row are (asserted). bfloat16: rounding can move logits by far more,
  // and only the decided leading steps (often none) are compared.
  std::vector<size_t> decided(prompts.size());
  for (size_t r = 0; r < prompts.size(); ++r) {
    decided[r] = testing::stable_greedy_steps(*model, prompts[r], expected.tokens[r]);
    if (!GetParam().bfloat16)
      testing::expect_stable_greedy(*model, prompts[r], expected.tokens[r],
                                    std::string("reuse ") + GetParam().model + " row " + std::to_string(r));
  }
  // The decided leading tokens of `actual` equal those of row r without reuse.
  auto expect_decided_equal = [&](const std::vector<int64_t>& actual, size_t r) {
    const auto n = static_cast<std::ptrdiff_t>(decided[r]);
    ASSERT_EQ(actual.size(), expected.tokens[r].size()) << "row " << r;
    EXPECT_EQ(std::vector<int64_t>(actual.begin(), actual.begin() + n),
              std::vector<int64_t>(expected.tokens[r].begin(), expected.tokens[r].begin() + n))
        << "row " << r;
  };

  TempDir dir;
  auto store = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, dir.file("store"), 8});
  auto reuse = std::make_shared<PrefixReuse>(store, model_identity(*model), model->dtype());
  ArDecoder decoder(model, config, reuse);
  // The first prompt alone fills the store; then the rest in one ragged batch reuses it.
  const DecodeResult first = decoder.decode(DecodeRequest{{prompts[0]}, 6, {}, false});
  expect_decided_equal(first.tokens[0], 0);
  EXPECT_EQ(first.stats.details["reused_prompt_tokens"], 0);
  const std::vector<std::vector<int64_t>> rest(prompts.begin() + 1, prompts.end());
  const DecodeResult warm = decoder.decode(DecodeRequest{rest, 6, {}, false});
  EXPECT_EQ(warm.stats.details["reused_prompt_tokens"], 32 * 5);  // 4 chunks of 8 per sharing row
  for (size_t r = 0; r < rest.size(); ++r) expect_decided_equal(warm.tokens[r], r + 1);

  // A new process: cold memory, warm disk.
  auto reopened = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, dir.file("store"), 8});
  ArDecoder restarted(model, config, std::make_shared<PrefixReuse>(reopened, model_identity(*model), model->dtype()));
  const DecodeResult from_disk = restarted.decode(DecodeRequest{prompts, 6, {}, false});
  EXPECT_GT(reopened->stats().disk_hits, 0);
  EXPECT_GT(from_disk.stats.details["reused_prompt_tokens"].get<int64_t>(), 0);
  for (size_t r = 0; r < prompts.size(); ++r) expect_decided_equal(from_disk.tokens[r], r);
}

TEST_P(ArReuse, ReusedPrefillLogitsMatchAFullPrefill) {
  LoadOptions options;
  if (GetParam().bfloat16) options.dtype = torch::kBFloat16;
  auto model = load_checkpoint(fixture_model(GetParam().model), options);
  const std::vector<int64_t> prompt = random_tokens(45, 5);
  auto store = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, "", 16});
  PrefixReuse reuse(store, model_identity(*model), model->dtype());
  const int64_t rows = 1, width = static_cast<int64_t>(prompt.size());
  torch::Tensor tokens = torch::tensor(prompt).view({1, -1});  // (1, T)
  torch::Tensor positions = torch::arange(width).view({1, -1});
  ForwardOptions full;
  full.last_position_only = true;
  const torch::Tensor expected = model->forward(tokens, positions, full);  // (1, 1, V)
  {
    KvCache cache = model->make_cache(rows, width);
    full.cache = &cache;
    model->forward(tokens, positions, full);
    reuse.store_prefixes({prompt}, width, cache);
  }
  KvCache cache = model->make_cache(rows, width);
  const std::vector<int64_t> loaded = reuse.load_prefixes({prompt}, width, cache);
  ASSERT_EQ(loaded[0], 32);
  ForwardOptions suffix;
  suffix.last_position_only = true;
  suffix.cache = &cache;
  suffix.cache_write_start = 32;
  const torch::Tensor actual = model->forward(tokens.narrow(1, 32, width - 32), positions.narrow(1, 32, width - 32), suffix);
  // The reused keys and values come from a 45-token prefill, the suffix runs 13 positions against them:
  // the same arithmetic in other shapes, so equal within the bound of the dtype (tests/support/numeric_bounds.h).
  const double scale = testing::max_abs(expected);
  const double bound = GetParam().bfloat16
                           ? testing::bfloat16_pair_bound(scale, testing::bfloat16_forward_roundings(model->config().num_layers))
                           : testing::float32_bound(scale, testing::forward_reduction_length(model->config(), width));
  testing::expect_within_bound(testing::max_abs_difference(actual, expected), bound,
                               std::string("reused prefill ") + GetParam().model + (GetParam().bfloat16 ? " bf16" : ""));
}

INSTANTIATE_TEST_SUITE_P(Models, ArReuse,
                         ::testing::Values(ArCase{"qwen2-tiny", false}, ArCase{"qwen3-tiny", false},
                                           ArCase{"llama-tiny", false}, ArCase{"qwen2-tiny", true}),
                         [](const ::testing::TestParamInfo<ArCase>& info) {
                           std::string name = info.param.model;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name + (info.param.bfloat16 ? "_bf16" : "");
                         });

TEST(SpeculativeReuse, TargetPrefillReusesAndGreedyOutputEqualsArGreedy) {
  auto target = load_checkpoint(fixture_model("qwen2-tiny"));
  auto draft = load_checkpoint(fixture_model("qwen3-tiny"));
  const std::vector<int64_t> shared = random_tokens(40, 13);
  ArConfig ar_config;
  ar_config.stop_on_eos = false;
  SpeculativeConfig config;
  config.stop_on_eos = false;
  config.draft_length = 3;
  auto store = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, "", 8});
  auto reuse = std::make_shared<PrefixReuse>(store, model_identity(*target), target->dtype());
  SpeculativeDecoder with_model(target, DraftModel{draft}, config, reuse);
  SpeculativeDecoder with_lookup(target, PromptLookup{}, config, reuse);
  for (uint32_t i = 0; i < 3; ++i) {
    const std::vector<int64_t> prompt = concat(shared, random_tokens(5 + i, 60 + i));
    const DecodeResult expected = ArDecoder(target, ar_config).decode(DecodeRequest{{prompt}, 10, {}, false});
    // Verification runs other shapes than AR decoding.
    testing::expect_stable_greedy(*target, prompt, expected.tokens[0], "speculative reuse prompt " + std::to_string(i));
    const DecodeResult by_model = with_model.decode(DecodeRequest{{prompt}, 10, {}, false});
    const DecodeResult by_lookup = with_lookup.decode(DecodeRequest{{prompt}, 10, {}, false});
    EXPECT_EQ(by_model.tokens[0], expected.tokens[0]) << "prompt " << i;
    EXPECT_EQ(by_lookup.tokens[0], expected.tokens[0]) << "prompt " << i;
    // The first decode of the first prompt stores the shared chunks; every later prefill reuses them.
    EXPECT_EQ(by_model.stats.details["reused_prompt_tokens"], i == 0 ? 0 : 40);
    EXPECT_EQ(by_lookup.stats.details["reused_prompt_tokens"], 40);
  }
  EXPECT_EQ(with_model.prefill_tokens(concat(shared, {5, 6})), 2);
}

struct DiffusionCase {
  const char* model;
  CacheMode cache;
};

class DiffusionReuse : public ::testing::TestWithParam<DiffusionCase> {};

TEST_P(DiffusionReuse, RepeatedCanvasesReuseThePromptAndDecodeTheSame) {
  auto model = load_checkpoint(fixture_model(GetParam().model));
  const std::vector<int64_t> shared = random_tokens(20, 7, 380);
  std::vector<std::vector<int64_t>> prompts;
  for (uint32_t i = 0; i < 3; ++i) prompts.push_back(concat(shared, random_tokens(2 + 3 * i, 40 + i, 380)));
  DiffusionConfig config;
  config.steps = 8;
  config.selection = Selection::kEntropy;
  config.block_length = 8;
  config.cache = GetParam().cache;
  const DecodeRequest request{prompts, 16, {}, false};
  const DecodeResult expected = DiffusionDecoder(model, config).decode(DecodeRequest{prompts, 16, {}, true});
  // Reused prompt keys and values come from other shapes (one row, another batch): equal only if no
  // decision lies within rounding.
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  testing::expect_firm_diffusion_decisions(expected.stats.details, model->config(), std::nullopt,
                                           static_cast<int64_t>(longest) + 16, GetParam().model);

  auto store = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, "", 8});
  auto reuse = std::make_shared<PrefixReuse>(store, model_identity(*model), model->dtype());
  DiffusionDecoder decoder(model, config, reuse);
  // Row 1 alone first; then the batch: row 1 reuses, rows 0 and 2 are computed and stored.
  const DecodeResult single = decoder.decode(DecodeRequest{{prompts[1]}, 16, {}, false});
  EXPECT_EQ(single.stats.details["reused_prompt_tokens"], 0);
  EXPECT_EQ(single.tokens[0], expected.tokens[1]);
  const DecodeResult mixed = decoder.decode(request);
  EXPECT_EQ(mixed.stats.details["reused_prompt_tokens"], static_cast<int64_t>(prompts[1].size()));
  EXPECT_EQ(mixed.tokens, expected.tokens);
  const DecodeResult warm = decoder.decode(request);
  int64_t prompt_tokens = 0;
  for (const auto& p : prompts) prompt_tokens += static_cast<int64_t>(p.size());
  EXPECT_EQ(warm.stats.details["reused_prompt_tokens"], prompt_tokens);
  EXPECT_EQ(warm.tokens, expected.tokens);
  // Another generation length is another canvas: nothing to reuse.
  const DecodeResult longer = decoder.decode(DecodeRequest{prompts, 32, {}, false});
  EXPECT_EQ(longer.stats.details["reused_prompt_tokens"], 0);
}

INSTANTIATE_TEST_SUITE_P(Models, DiffusionReuse,
                         ::testing::Values(DiffusionCase{"dream-tiny", CacheMode::kPrefix},
                                           DiffusionCase{"dream-tiny", CacheMode::kDual},
                                           DiffusionCase{"llama-bidir-tiny", CacheMode::kPrefix},
                                           DiffusionCase{"llama-bidir-tiny", CacheMode::kDual}),
                         [](const ::testing::TestParamInfo<DiffusionCase>& info) {
                           std::string name = info.param.model;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name + (info.param.cache == CacheMode::kPrefix ? "_prefix" : "_dual");
                         });

}  // namespace
}  // namespace stepwise

namespace stepwise {
namespace {

// Prefill cost = prompt length; no decoding.
class LengthOnlyDecoder : public Decoder {
 public:
  DecodeResult decode(const DecodeRequest&) override { return {}; }
  std::string describe() const override { return "length only"; }
};

TEST(RequestOrder, FifoKeepsArrivalOrderAndShortestPrefillFirstSortsByCost) {
  const std::vector<std::vector<int64_t>> prompts = {std::vector<int64_t>(9, 1), std::vector<int64_t>(3, 1),
                                                     std::vector<int64_t>(7, 1), std::vector<int64_t>(3, 1),
                                                     std::vector<int64_t>(1, 1)};
  LengthOnlyDecoder decoder;
  const std::vector<size_t> pending = {0, 1, 2, 3, 4};
  EXPECT_EQ(next_batch(RequestOrder::kFifo, decoder, prompts, pending, 2), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(next_batch(RequestOrder::kShortestPrefillFirst, decoder, prompts, pending, 3),
            (std::vector<size_t>{4, 1, 3}));  // ties (1 and 3) in arrival order
  EXPECT_EQ(next_batch(RequestOrder::kShortestPrefillFirst, decoder, prompts, {0, 2}, 8), (std::vector<size_t>{2, 0}));
  EXPECT_EQ(parse_request_order("shortest_prefill_first"), RequestOrder::kShortestPrefillFirst);
  EXPECT_THROW(parse_request_order("lifo"), Error);
}

TEST(RequestOrder, ShortestPrefillFirstCountsReuse) {
  auto model = load_checkpoint(testing::fixture_model("qwen2-tiny"));
  auto store = std::make_shared<PrefixStore>(PrefixStoreOptions{1 << 24, "", 8});
  ArConfig config;
  ArDecoder decoder(model, config, std::make_shared<PrefixReuse>(store, model_identity(*model), model->dtype()));
  const std::vector<int64_t> shared = random_tokens(32, 3);
  // Request 0 is short but unrelated; 1 and 2 share a 32-token prefix with what gets decoded first.
  const std::vector<std::vector<int64_t>> prompts = {random_tokens(12, 4), concat(shared, random_tokens(6, 5)),
                                                     concat(shared, random_tokens(2, 6))};
  EXPECT_EQ(next_batch(RequestOrder::kShortestPrefillFirst, decoder, prompts, {0, 1, 2}, 1), std::vector<size_t>{0});
  decoder.decode(DecodeRequest{{concat(shared, {1})}, 1, {}, false});
  EXPECT_EQ(decoder.prefill_tokens(prompts[2]), 2);
  EXPECT_EQ(next_batch(RequestOrder::kShortestPrefillFirst, decoder, prompts, {0, 1, 2}, 2),
            (std::vector<size_t>{2, 1}));
}

TEST(RequestOrder, LatencySummaryUsesNearestRank) {
  const LatencySummary summary = summarize_latencies({10, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_DOUBLE_EQ(summary.mean_s, 5.5);
  EXPECT_DOUBLE_EQ(summary.p90_s, 9.0);
  EXPECT_DOUBLE_EQ(summarize_latencies({4.0}).p90_s, 4.0);
}

}  // namespace
}  // namespace stepwise
