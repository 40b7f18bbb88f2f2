// core/attention against a hand-written float64 reference: every mask kind (causal, bidirectional,
// block-causal), with and without key padding, grouped-query heads, queries at an offset into the keys
// (a cached decode step and a cached chunk), and fully masked queries (left padding). The visibility
// rule itself is compared exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/tensor/attention.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

// The documented rule, written out: may query t (at key slot offset + t) see key s in row b?
bool visible(const AttentionSpec& spec, const std::vector<std::vector<bool>>& padding, int64_t b, int64_t t,
             int64_t s, int64_t offset) {
  const int64_t query_slot = offset + t;
  bool seen = true;
  if (spec.kind == AttentionKind::kCausal) seen = s <= query_slot;
  if (spec.kind == AttentionKind::kBlockCausal) seen = s / spec.block_size <= query_slot / spec.block_size;
  if (!padding.empty()) seen = seen && padding[static_cast<size_t>(b)][static_cast<size_t>(s)];
  return seen;
}

struct Reference {
  torch::Tensor out;  // (B, H, T, D) float64
  double max_score_terms = 0.0;  // max over (b, h, t, s) of sum_i |q_i k_i| / sqrt(D)
};

// Softmax attention in float64 with plain loops; a query that sees no key averages every key (the
// documented uniform distribution for fully masked rows).
Reference reference_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const AttentionSpec& spec, const std::vector<std::vector<bool>>& padding,
                              int64_t offset) {
  const torch::Tensor q64 = q.to(torch::kFloat64), k64 = k.to(torch::kFloat64), v64 = v.to(torch::kFloat64);
  auto qa = q64.accessor<double, 4>();
  auto ka = k64.accessor<double, 4>();
  auto va = v64.accessor<double, 4>();
  const int64_t batch = q.size(0), heads = q.size(1), queries = q.size(2), dim = q.size(3);
  const int64_t kv_heads = k.size(1), keys = k.size(2), group = heads / kv_heads;
  Reference ref;
  ref.out = torch::zeros({batch, heads, queries, dim}, torch::kFloat64);
  auto out = ref.out.accessor<double, 4>();
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < queries; ++t) {
        const int64_t kv = h / group;
        std::vector<double> score(static_cast<size_t>(keys), 0.0);
        std::vector<bool> seen(static_cast<size_t>(keys), false);
        bool any = false;
        double top = -INFINITY;
        for (int64_t s = 0; s < keys; ++s) {
          double dot = 0.0, terms = 0.0;
          for (int64_t i = 0; i < dim; ++i) {
            dot += qa[b][h][t][i] * ka[b][kv][s][i];
            terms += std::abs(qa[b][h][t][i] * ka[b][kv][s][i]);
          }
          ref.max_score_terms = std::max(ref.max_score_terms, terms * scale);
          score[static_cast<size_t>(s)] = dot * scale;
          seen[static_cast<size_t>(s)] = visible(spec, padding, b, t, s, offset);
          if (seen[static_cast<size_t>(s)]) {
            any = true;
            top = std::max(top, dot * scale);
          }
        }
        double total = 0.0;
        std::vector<double> weight(static_cast<size_t>(keys), 0.0);
        for (int64_t s = 0; s < keys; ++s) {
          const size_t at = static_cast<size_t>(s);
          weight[at] = !any ? 1.0 : (seen[at] ? std::exp(score[at] - top) : 0.0);
          total += weight[at];
        }
        for (int64_t s = 0; s < keys; ++s)
          for (int64_t i = 0; i < dim; ++i)
            out[b][h][t][i] += weight[static_cast<size_t>(s)] / total * va[b][kv][s][i];
      }
  return ref;
}

struct Case {
  std::string name;
  AttentionSpec spec;
  int64_t queries;
  int64_t keys;
  int64_t offset;
  bool padded;
};

std::vector<Case> cases() {
  AttentionSpec block;
  block.kind = AttentionKind::kBlockCausal;
  block.block_size = 2;
  std::vector<Case> out;
  for (bool padded : {false, true}) {
    const std::string suffix = padded ? " padded" : "";
    out.push_back({"causal prefill" + suffix, AttentionSpec::causal(), 6, 6, 0, padded});
    out.push_back({"causal decode step" + suffix, AttentionSpec::causal(), 1, 6, 5, padded});
    out.push_back({"causal cached chunk" + suffix, AttentionSpec::causal(), 3, 7, 2, padded});
    out.push_back({"bidirectional" + suffix, AttentionSpec::bidirectional(), 6, 6, 0, padded});
    out.push_back({"bidirectional window" + suffix, AttentionSpec::bidirectional(), 2, 6, 3, padded});
    out.push_back({"block-causal" + suffix, block, 5, 5, 0, padded});
    out.push_back({"block-causal cached" + suffix, block, 3, 6, 3, padded});
  }
  return out;
}

TEST(Attention, EveryMaskKindMatchesTheFloat64Reference) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  constexpr int64_t kBatch = 2, kHeads = 4, kKvHeads = 2, kDim = 8;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    torch::Tensor q = torch::randn({kBatch, kHeads, c.queries, kDim});
    torch::Tensor k = torch::randn({kBatch, kKvHeads, c.keys, kDim});
    torch::Tensor v = torch::randn({kBatch, kKvHeads, c.keys, kDim});
    AttentionSpec spec = c.spec;
    std::vector<std::vector<bool>> padding;
    if (c.padded) {
      // Row 0 unpadded; row 1 left-padded by two slots, so under a causal mask its first queries at
      // slots 0 and 1 of a prefill see no key at all.
      padding = {std::vector<bool>(static_cast<size_t>(c.keys), true), std::vector<bool>(static_cast<size_t>(c.keys), true)};
      padding[1][0] = padding[1][1] = false;
      torch::Tensor mask = torch::ones({kBatch, c.keys}, torch::kBool);
      mask[1][0] = false;
      mask[1][1] = false;
      spec.key_padding = mask;
    }
    const torch::Tensor out = attention(q, k, v, spec, c.offset);  // (B, H, T, D) float32
    ASSERT_EQ(out.sizes(), q.sizes());
    const Reference ref = reference_attention(q, k, v, spec, padding, c.offset);
    // float32 against exact: each score is a length-D dot product, off by at most D * eps * the sum of
    // its |terms| (numeric_bounds.h); exp turns that into a relative error of the weights, and softmax
    // plus the weighted sum of values add S roundings of values bounded by max|v|. So
    // |out - ref| <= max|v| * eps * (2 * D * max_terms + 2 * S). At these sizes that is ~3e-5 (measured:
    // at most 1 % of it), while a wrong mask, head grouping or offset moves outputs by 0.1 or more.
    const double bound = testing::max_abs(v) * testing::kFloat32Epsilon *
                         (2.0 * kDim * ref.max_score_terms + 2.0 * static_cast<double>(c.keys));
    testing::expect_within_bound(testing::max_abs_difference(out.to(torch::kFloat64), ref.out), bound,
                                 "attention " + c.name);
  }
}

TEST(Attention, VisibilityMaskFollowsTheRule) {
  AttentionSpec block;
  block.kind = AttentionKind::kBlockCausal;
  block.block_size = 3;
  for (const Case& c : cases()) {
    for (const AttentionSpec& base : {c.spec, block}) {
      AttentionSpec spec = base;
      std::vector<std::vector<bool>> padding;
      if (c.padded) {
        padding = {std::vector<bool>(static_cast<size_t>(c.keys), true), std::vector<bool>(static_cast<size_t>(c.keys), false)};
        padding[1][static_cast<size_t>(c.keys - 1)] = true;
        torch::Tensor mask = torch::zeros({2, c.keys}, torch::kBool);
        mask[0].fill_(true);
        mask[1][c.keys - 1] = true;
        spec.key_padding = mask;
      }
      const torch::Tensor mask = visibility_mask(spec, c.queries, c.keys, c.offset, torch::kCPU);  // (B|1, 1, T, S)
      auto at = mask.accessor<bool, 4>();
      for (int64_t b = 0; b < (c.padded ? 2 : 1); ++b)
        for (int64_t t = 0; t < c.queries; ++t)
          for (int64_t s = 0; s < c.keys; ++s)
            EXPECT_EQ(at[b][0][t][s], visible(spec, padding, b, t, s, c.offset))
                << c.name << " row " << b << " query " << t << " key " << s;
    }
  }
}

TEST(Attention, FullyMaskedQueriesAverageEveryValueInsteadOfNaN) {
  // A left-padding query under a causal mask sees no key: the documented uniform distribution.
  torch::Tensor q = torch::randn({1, 1, 2, 4});
  torch::Tensor k = torch::randn({1, 1, 3, 4});
  torch::Tensor v = torch::randn({1, 1, 3, 4});
  AttentionSpec spec = AttentionSpec::causal();
  spec.key_padding = torch::tensor({false, false, true}, torch::kBool).view({1, 3});
  const torch::Tensor out = attention(q, k, v, spec, 0);
  EXPECT_FALSE(out.isnan().any().item<bool>());
  // Three values averaged in float32: within 3 roundings of max|v|.
  const double bound = testing::float32_bound(testing::max_abs(v), 3);
  for (int64_t t = 0; t < 2; ++t)
    testing::expect_within_bound(testing::max_abs_difference(out[0][0][t], v[0][0].mean(0)), bound,
                                 "masked query " + std::to_string(t));
}

}  // namespace
}  // namespace stepwise
