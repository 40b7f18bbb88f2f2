// KvCache on its own: who moves its length (writes extend it, keep / drop_last / clear shrink it),
// in-place overwrites, bounds, and the per-row span copies prefix reuse relies on. Exact comparisons:
// the cache only copies values, so every value read back equals the value written.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <c10/util/Exception.h>

#include <string>

#include "core/error.h"
#include "core/tensor/kv_cache.h"

namespace stepwise {
namespace {

constexpr int64_t kLayers = 3, kBatch = 2, kHeads = 2, kCapacity = 8, kDim = 4;

KvCache make_cache() {
  return KvCache(kLayers, kBatch, kHeads, kCapacity, kDim, torch::TensorOptions().dtype(torch::kFloat32));
}

// Distinct values for `count` tokens of one layer: (B, H_kv, count, D), offset by `seed`.
torch::Tensor tokens_of(int64_t count, double seed) {
  return torch::arange(kBatch * kHeads * count * kDim, torch::kFloat32).view({kBatch, kHeads, count, kDim}) + seed;
}

// One forward's worth of writes: every layer stores its own keys (seed + layer) and values (negated).
void write_all_layers(KvCache& cache, int64_t start, int64_t count, double seed) {
  for (int64_t layer = 0; layer < kLayers; ++layer) {
    const torch::Tensor k = tokens_of(count, seed + 1000.0 * static_cast<double>(layer));
    cache.write(layer, start, k, -k);
  }
}

TEST(KvCache, StartsEmptyAndWritesExtendTheLengthLayerByLayer) {
  KvCache cache = make_cache();
  EXPECT_EQ(cache.length(), 0);
  EXPECT_EQ(cache.capacity(), kCapacity);
  const torch::Tensor k = tokens_of(3, 0.0);
  auto [keys, values] = cache.write(0, 0, k, -k);
  EXPECT_EQ(keys.sizes(), (std::vector<int64_t>{kBatch, kHeads, 3, kDim}));
  EXPECT_TRUE(torch::equal(keys, k));
  EXPECT_TRUE(torch::equal(values, -k));
  // Only layer 0 holds the tokens yet: the length counts slots valid in every layer.
  EXPECT_EQ(cache.length(), 0);
  for (int64_t layer = 1; layer < kLayers; ++layer) cache.write(layer, 0, k, -k);
  EXPECT_EQ(cache.length(), 3);
  EXPECT_TRUE(torch::equal(cache.keys(2), k));
  EXPECT_TRUE(torch::equal(cache.values(1), -k));
}

TEST(KvCache, AppendingReturnsEveryValidSlot) {
  KvCache cache = make_cache();
  write_all_layers(cache, 0, 3, 0.0);
  const torch::Tensor next = tokens_of(2, 500.0);
  auto [keys, values] = cache.write(0, cache.length(), next, -next);
  EXPECT_EQ(keys.size(2), 5);
  EXPECT_TRUE(torch::equal(keys.narrow(2, 0, 3), tokens_of(3, 0.0)));
  EXPECT_TRUE(torch::equal(keys.narrow(2, 3, 2), next));
  EXPECT_TRUE(torch::equal(values.narrow(2, 3, 2), -next));
}

TEST(KvCache, AnOverwriteInsideTheValidRangeKeepsTheLengthAndTheOtherSlots) {
  KvCache cache = make_cache();
  write_all_layers(cache, 0, 6, 0.0);
  const torch::Tensor before = cache.keys(1).clone();
  write_all_layers(cache, 2, 2, 9000.0);  // a recomputed block, as the dual diffusion cache does
  EXPECT_EQ(cache.length(), 6);
  const torch::Tensor after = cache.keys(1);
  EXPECT_TRUE(torch::equal(after.narrow(2, 2, 2), tokens_of(2, 10000.0)));  // layer 1: seed + 1000
  EXPECT_TRUE(torch::equal(after.narrow(2, 0, 2), before.narrow(2, 0, 2)));
  EXPECT_TRUE(torch::equal(after.narrow(2, 4, 2), before.narrow(2, 4, 2)));
}

TEST(KvCache, KeepDropLastAndClearOnlyShrink) {
  KvCache cache = make_cache();
  write_all_layers(cache, 0, 6, 0.0);
  cache.keep(4);
  EXPECT_EQ(cache.length(), 4);
  cache.keep(7);  // holds fewer: nothing changes
  EXPECT_EQ(cache.length(), 4);
  cache.drop_last(1);
  EXPECT_EQ(cache.length(), 3);
  cache.drop_last(0);
  EXPECT_EQ(cache.length(), 3);
  EXPECT_THROW(cache.drop_last(4), c10::Error);  // more than it holds: an invariant broken by the caller
  EXPECT_EQ(cache.length(), 3);
  EXPECT_EQ(cache.keys(0).size(2), 3);
  cache.clear();
  EXPECT_EQ(cache.length(), 0);
  EXPECT_EQ(cache.keys(0).size(2), 0);
}

TEST(KvCache, DroppedSlotsAreWrittenAgainByTheNextAppend) {
  // Speculative rollback: 2 accepted of 4 drafts, then the next round appends after the accepted ones.
  KvCache cache = make_cache();
  write_all_layers(cache, 0, 3, 0.0);
  write_all_layers(cache, cache.length(), 4, 100.0);
  cache.drop_last(2);
  EXPECT_EQ(cache.length(), 5);
  write_all_layers(cache, cache.length(), 1, 7000.0);
  EXPECT_EQ(cache.length(), 6);
  EXPECT_TRUE(torch::equal(cache.keys(0).narrow(2, 3, 2), tokens_of(4, 100.0).narrow(2, 0, 2)));
  EXPECT_TRUE(torch::equal(cache.keys(0).narrow(2, 5, 1), tokens_of(1, 7000.0)));
}

TEST(KvCache, WritingPastTheCapacityIsAnErrorThatSaysSo) {
  KvCache cache = make_cache();
  write_all_layers(cache, 0, 6, 0.0);
  const torch::Tensor k = tokens_of(3, 0.0);
  try {
    cache.write(0, 6, k, k);
    FAIL() << "expected an overflow error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("KV cache overflow"), std::string::npos) << message;
    EXPECT_NE(message.find("[6, 9)"), std::string::npos) << message;
  }
  EXPECT_EQ(cache.length(), 6);
}

TEST(KvCache, LoadPrefixSetsTheLength) {
  KvCache cache = make_cache();
  write_all_layers(cache, 0, 6, 0.0);
  const torch::Tensor keys = torch::randn({kLayers, kBatch, kHeads, 2, kDim});
  cache.load_prefix(keys, -keys);
  EXPECT_EQ(cache.length(), 2);
  for (int64_t layer = 0; layer < kLayers; ++layer) {
    EXPECT_TRUE(torch::equal(cache.keys(layer), keys[layer]));
    EXPECT_TRUE(torch::equal(cache.values(layer), -keys[layer]));
  }
  EXPECT_THROW(cache.load_prefix(torch::zeros({kLayers, kBatch, kHeads, kCapacity + 1, kDim}),
                                 torch::zeros({kLayers, kBatch, kHeads, kCapacity + 1, kDim})),
               Error);
}

TEST(KvCache, RowSpansRoundTripAndLeaveTheLengthAndOtherRowsAlone) {
  KvCache source = make_cache();
  write_all_layers(source, 0, 6, 0.0);
  auto [keys, values] = source.copy_row_span(1, 2, 3);  // (L, H_kv, 3, D)
  EXPECT_EQ(keys.sizes(), (std::vector<int64_t>{kLayers, kHeads, 3, kDim}));
  for (int64_t layer = 0; layer < kLayers; ++layer)
    EXPECT_TRUE(torch::equal(keys[layer], source.keys(layer)[1].narrow(1, 2, 3)));

  KvCache target = make_cache();
  target.load_row_span(0, 4, keys, values);
  EXPECT_EQ(target.length(), 0);  // the next forward's write start decides what is attended
  auto [loaded_keys, loaded_values] = target.copy_row_span(0, 4, 3);
  EXPECT_TRUE(torch::equal(loaded_keys, keys));
  EXPECT_TRUE(torch::equal(loaded_values, values));
  EXPECT_TRUE(torch::equal(target.copy_row_span(1, 4, 3).first, torch::zeros_like(keys)));  // row 1 untouched
  EXPECT_THROW(target.load_row_span(0, 6, keys, values), Error);  // slots [6, 9) do not exist
}

}  // namespace
}  // namespace stepwise
