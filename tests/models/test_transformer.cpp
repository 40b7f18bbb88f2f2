// The shared transformer against the independent reference logits of every fixture checkpoint,
// and exact properties: KV-cached incremental forwards equal one full forward; a left-padded batch
// gives each row its own logits. Those comparisons run other matrix shapes (or another reference
// implementation) than the forward they are compared with, so they hold up to the float32 / bfloat16
// bounds of tests/support/numeric_bounds.h, which depend on the CPU's kernels only through rounding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/checkpoint.h"
#include "models/kernel_split.h"
#include "models/packed_linear.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::bfloat16_bound;
using testing::fixture_expected;
using testing::fixture_model;
using testing::float32_bound;
using testing::forward_reduction_length;
using testing::json_ids;
using testing::json_matrix;
using testing::max_abs;
using testing::max_abs_difference;
using testing::stable_top_two_gap;

torch::Tensor row_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).view({1, static_cast<int64_t>(ids.size())});
}

torch::Tensor logits_of(const Transformer& model, const std::vector<int64_t>& ids, AttentionSpec attention) {
  torch::NoGradGuard no_grad;
  const int64_t length = static_cast<int64_t>(ids.size());
  ForwardOptions options;
  options.attention = std::move(attention);
  return model.forward(row_tensor(ids), torch::arange(length).view({1, length}), options)[0];
}

class CausalLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(CausalLogits, MatchReference) {
  const std::string name = GetParam();
  auto expected = fixture_expected(name);
  auto model = load_checkpoint(fixture_model(name));
  torch::Tensor logits = logits_of(*model, json_ids(expected["prompt"]), AttentionSpec::causal());
  torch::Tensor reference = json_matrix(expected["causal_logits"]);
  ASSERT_EQ(logits.sizes(), reference.sizes());
  // float32 here against a float32 PyTorch port: the same arithmetic in another operation order.
  // qwen2-tiny: scale 7.4, reduction 160 (the MLP's down projection) -> bound 1.4e-4.
  const double bound = float32_bound(max_abs(reference), forward_reduction_length(model->config(), logits.size(0)));
  testing::expect_within_bound(max_abs_difference(logits, reference), bound, "causal reference " + name);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CausalLogits,
                         ::testing::Values("qwen2-tiny", "qwen2-tiny-bf16", "llama-tiny", "qwen3-tiny", "dream-tiny",
                                           "llama-bidir-tiny"));

class BidirectionalLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(BidirectionalLogits, MatchReference) {
  const std::string name = GetParam();
  auto expected = fixture_expected(name);
  auto model = load_checkpoint(fixture_model(name));
  EXPECT_TRUE(model->config().bidirectional);
  torch::Tensor logits =
      logits_of(*model, json_ids(expected["bidirectional_input"]), AttentionSpec::bidirectional());
  torch::Tensor reference = json_matrix(expected["bidirectional_logits"]);
  ASSERT_EQ(logits.sizes(), reference.sizes());
  // As CausalLogits: float32 in another operation order (dream-tiny: scale 8.3, reduction 160).
  const double bound = float32_bound(max_abs(reference), forward_reduction_length(model->config(), logits.size(0)));
  testing::expect_within_bound(max_abs_difference(logits, reference), bound, "bidirectional reference " + name);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BidirectionalLogits, ::testing::Values("dream-tiny", "llama-bidir-tiny"));

TEST(Transformer, ConfigVariantsAreRead) {
  EXPECT_TRUE(load_checkpoint(fixture_model("qwen2-tiny"))->config().attention_bias);   // inferred from tensors
  EXPECT_FALSE(load_checkpoint(fixture_model("llama-tiny"))->config().attention_bias);
  auto qwen3 = load_checkpoint(fixture_model("qwen3-tiny"));
  EXPECT_TRUE(qwen3->config().qk_norm);
  EXPECT_EQ(qwen3->config().head_dim, 32);             // differs from hidden / heads = 16
  EXPECT_DOUBLE_EQ(qwen3->config().rope_theta, 1e6);   // nested rope_parameters
  EXPECT_EQ(qwen3->config().stored_dtype, "float32");  // `dtype` key
  auto dream = load_checkpoint(fixture_model("dream-tiny"));
  EXPECT_TRUE(dream->config().shift_logits);
  EXPECT_EQ(dream->config().mask_token_id.value_or(-1), 383);
  auto bidir = load_checkpoint(fixture_model("llama-bidir-tiny"));
  EXPECT_TRUE(bidir->config().bidirectional);
  EXPECT_FALSE(bidir->config().shift_logits);
}

TEST(Transformer, BFloat16ComputeStaysClose) {
  auto expected = fixture_expected("qwen2-tiny-bf16");
  auto model = load_checkpoint(fixture_model("qwen2-tiny-bf16"), {torch::kBFloat16, torch::kCPU});
  EXPECT_EQ(model->dtype(), torch::kBFloat16);
  torch::Tensor logits = logits_of(*model, json_ids(expected["prompt"]), AttentionSpec::causal());
  torch::Tensor reference = json_matrix(expected["causal_logits"]);  // (T, V), computed in float32
  // bfloat16 compute against float32: every op's output is rounded to 8 significant bits, so the bound
  // counts roundings (2 layers + final norm and head), not the reduction length: scale 8.6 -> 1.0 (measured 0.13).
  const int64_t roundings = testing::bfloat16_forward_roundings(model->config().num_layers);
  const double bound = bfloat16_bound(max_abs(reference), roundings);
  testing::expect_within_bound(max_abs_difference(logits, reference), bound, "bf16 compute vs float32 reference");
  // The argmax must agree wherever the reference's top two are further apart than the bound allows to
  // move them; closer rows may flip in bf16. This fixture's widest gap is 1.2 (its smallest 0.053),
  // under twice the bound, so here no row is decided and the bound above is the whole check.
  torch::Tensor decided = testing::top_two_gaps(reference) > stable_top_two_gap(bound);  // (T)
  EXPECT_TRUE(torch::equal(logits.argmax(-1).masked_select(decided), reference.argmax(-1).masked_select(decided)));
}

// With two intra-op threads a product large enough for several chunks is split over both, on the
// kernels' worker pool and (STEPWISE_KERNEL_THREADS=openmp) over LibTorch's OpenMP team: some chunk runs
// on a worker thread. The pool's worker may still be starting up, or asleep, while the caller claims every
// chunk of one product, so the products are repeated until a worker has taken a chunk (at most 1000). The
// OpenMP split fails this when its file is built without OpenMP, where at::parallel_for runs every chunk
// on the caller. Every split product is bit-identical to the one-thread product (each output panel is
// computed by one thread with the same operations) and is the float32 product of the same values.
TEST(Transformer, KernelProductsAreSplitOverTheIntraOpThreads) {
  const int previous_threads = torch::get_num_threads();
  const KernelSplit previous_split = kernel_split();
  torch::manual_seed(7);
  const torch::Tensor weight = torch::randn({4096, 512}).to(torch::kBFloat16);  // (N, K): 4 MiB, many chunks
  const torch::Tensor x = torch::randn({1, 512}).to(torch::kBFloat16);          // (M, K)
  const auto linears = PackedLinears::create({weight});
  torch::set_num_threads(1);
  const std::optional<torch::Tensor> alone = linears->linear(x, weight, torch::Tensor());  // (M, N) bfloat16
  torch::set_num_threads(2);
  for (KernelSplit split : {KernelSplit::kPool, KernelSplit::kOpenMp}) {
    set_kernel_split(split);
    const int64_t before = kernel_worker_chunks();
    for (int product = 0; product < 1000 && kernel_worker_chunks() == before; ++product) {
      const std::optional<torch::Tensor> y = linears->linear(x, weight, torch::Tensor());  // (M, N) bfloat16
      EXPECT_TRUE(y.has_value() && alone.has_value() && torch::equal(*y, *alone)) << kernel_split_name(split);
    }
    EXPECT_GT(kernel_worker_chunks() - before, 0) << kernel_split_name(split);
  }
  torch::set_num_threads(previous_threads);
  set_kernel_split(previous_split);
  ASSERT_TRUE(alone.has_value());
  const torch::Tensor reference = torch::matmul(x.to(torch::kFloat32), weight.to(torch::kFloat32).t());  // (M, N)
  // float32 accumulation in another order, then one rounding to bfloat16 (relative 2^-8).
  EXPECT_TRUE(torch::allclose(alone->to(torch::kFloat32), reference, /*rtol=*/1.0 / 128, /*atol=*/1e-3));
}

// STEPWISE_KERNEL_THREADS names the split; anything else is an error naming the variable and the choices.
TEST(Transformer, KernelThreadSplitIsParsedFromItsVariable) {
  EXPECT_EQ(parse_kernel_split(nullptr), KernelSplit::kPool);
  EXPECT_EQ(parse_kernel_split(""), KernelSplit::kPool);
  EXPECT_EQ(parse_kernel_split("pool"), KernelSplit::kPool);
  EXPECT_EQ(parse_kernel_split("openmp"), KernelSplit::kOpenMp);
  for (const char* bad : {"OpenMP", "spin", "pool "}) {
    try {
      parse_kernel_split(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()), std::string("STEPWISE_KERNEL_THREADS=") + bad + ": expected pool or openmp");
    }
  }
}

// On the CPU a bfloat16 model's small products (here all 11 rows) run on the project's kernels
// (models/packed_linear.h); with them switched off, on LibTorch's oneDNN. Both accumulate in float32 and
// round every op's output to bfloat16, in different orders: the logits are within the bound for two
// bfloat16 computations (roundings of 2 layers + final norm and head, tests/support/numeric_bounds.h).
TEST(Transformer, BFloat16KernelsMatchLibTorchLinear) {
  auto model = load_checkpoint(fixture_model("qwen2-tiny-bf16"), {torch::kBFloat16, torch::kCPU});
  const std::vector<int64_t> ids = json_ids(fixture_expected("qwen2-tiny-bf16")["prompt"]);
  const int64_t before = linear_kernel_products();
  torch::Tensor with_kernels = logits_of(*model, ids, AttentionSpec::causal());
  // 2 layers x 7 projections + the LM head.
  EXPECT_EQ(linear_kernel_products() - before, 2 * 7 + 1);
  set_linear_kernels_enabled(false);
  torch::Tensor with_torch = logits_of(*model, ids, AttentionSpec::causal());
  set_linear_kernels_enabled(true);
  EXPECT_EQ(linear_kernel_products() - before, 2 * 7 + 1);
  const int64_t roundings = testing::bfloat16_forward_roundings(model->config().num_layers);
  const double bound = testing::bfloat16_pair_bound(max_abs(with_torch), roundings);
  testing::expect_within_bound(max_abs_difference(with_kernels, with_torch), bound, "bf16 kernels vs torch::linear");

  // The kernels read the weights in place: a weight changed in place is read with its new values.
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : model->named_parameters())
    if (name.find("mlp.down_proj.weight") != std::string::npos) tensor.mul_(0.5);
  const int64_t stale = linear_kernel_products();
  torch::Tensor changed = logits_of(*model, ids, AttentionSpec::causal());
  EXPECT_EQ(linear_kernel_products() - stale, 2 * 7 + 1);
  set_linear_kernels_enabled(false);
  torch::Tensor changed_torch = logits_of(*model, ids, AttentionSpec::causal());
  set_linear_kernels_enabled(true);
  testing::expect_within_bound(max_abs_difference(changed, changed_torch), bound, "bf16 kernels after an in-place change");
}

class CachedForward : public ::testing::TestWithParam<std::string> {};

TEST_P(CachedForward, PrefillPlusStepsEqualsFullForward) {
  torch::NoGradGuard no_grad;
  auto model = load_checkpoint(fixture_model(GetParam()));
  auto expected = fixture_expected(GetParam());
  std::vector<int64_t> ids = json_ids(expected["prompt"]);
  const int64_t length = static_cast<int64_t>(ids.size());
  torch::Tensor full = logits_of(*model, ids, AttentionSpec::causal());  // (T, V)

  const int64_t prefill = 4;
  KvCache cache = model->make_cache(1, length);
  ForwardOptions options;
  options.cache = &cache;
  torch::Tensor tokens = row_tensor(ids);
  torch::Tensor positions = torch::arange(length).view({1, length});
  std::vector<torch::Tensor> pieces{
      model->forward(tokens.narrow(1, 0, prefill), positions.narrow(1, 0, prefill), options)[0]};
  EXPECT_EQ(cache.length(), prefill);
  for (int64_t t = prefill; t < length; ++t)
    pieces.push_back(model->forward(tokens.narrow(1, t, 1), positions.narrow(1, t, 1), options)[0]);
  EXPECT_EQ(cache.length(), length);
  // Other shapes than the full forward (gemv for single rows, other gemm blocking, attention over a
  // cache): float32 in another order. qwen2-tiny: scale 7.4, reduction 160 -> bound 1.4e-4; measured
  // up to 1.2e-5 (an AVX-512 Xeon's default OpenBLAS kernel). A wrong position or cache slot moves
  // logits by more than 0.1.
  const double bound = float32_bound(max_abs(full), forward_reduction_length(model->config(), length));
  testing::expect_within_bound(max_abs_difference(torch::cat(pieces), full), bound, "cached steps " + GetParam());

  // Keep the prefill, recompute the tail: same logits again, within the same bound.
  cache.keep(prefill);
  torch::Tensor tail = model->forward(tokens.narrow(1, prefill, length - prefill),
                                      positions.narrow(1, prefill, length - prefill), options)[0];
  testing::expect_within_bound(max_abs_difference(tail, full.narrow(0, prefill, length - prefill)), bound,
                               "recomputed tail " + GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CachedForward, ::testing::Values("qwen2-tiny", "llama-tiny", "qwen3-tiny"));

TEST(Transformer, LeftPaddedBatchMatchesEachRowAlone) {
  torch::NoGradGuard no_grad;
  auto model = load_checkpoint(fixture_model("qwen2-tiny"));
  auto expected = fixture_expected("qwen2-tiny");
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& prompt : expected["greedy_batch"]["prompts"]) prompts.push_back(json_ids(prompt));
  const int64_t width = static_cast<int64_t>(std::max(prompts[0].size(), prompts[1].size()));
  torch::Tensor tokens = torch::zeros({2, width}, torch::kInt64);
  torch::Tensor positions = torch::ones({2, width}, torch::kInt64);
  torch::Tensor real = torch::zeros({2, width}, torch::kBool);
  for (int64_t r = 0; r < 2; ++r) {
    const auto& prompt = prompts[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(prompt.size()), start = width - n;
    tokens[r].narrow(0, start, n).copy_(torch::tensor(prompt, torch::kInt64));
    positions[r].narrow(0, start, n).copy_(torch::arange(n));
    real[r].narrow(0, start, n).fill_(true);
  }
  ForwardOptions options;
  options.attention.key_padding = real;
  torch::Tensor batch_logits = model->forward(tokens, positions, options);  // (2, T, V)
  for (int64_t r = 0; r < 2; ++r) {
    const auto& prompt = prompts[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(prompt.size());
    torch::Tensor alone = logits_of(*model, prompt, AttentionSpec::causal());
    // Padded keys get exactly zero weight, but the shapes differ: float32 in another order.
    const double bound = float32_bound(max_abs(alone), forward_reduction_length(model->config(), width));
    testing::expect_within_bound(max_abs_difference(batch_logits[r].narrow(0, width - n, n), alone), bound,
                                 "left-padded row " + std::to_string(r));
    EXPECT_FALSE(batch_logits[r].isnan().any().item<bool>());
  }
}

TEST(Transformer, LogitsAtSelectedPositions) {
  torch::NoGradGuard no_grad;
  auto model = load_checkpoint(fixture_model("llama-tiny"));
  std::vector<int64_t> ids = json_ids(fixture_expected("llama-tiny")["prompt"]);
  torch::Tensor full = logits_of(*model, ids, AttentionSpec::causal());
  const int64_t length = static_cast<int64_t>(ids.size());
  ForwardOptions options;
  // The hidden states come from the same full-length forward; only the LM head runs on fewer rows, and
  // the BLAS may take another kernel for them (OpenBLAS has small-matrix paths): float32 in another
  // order over the head's reduction (the hidden size, 64) -> bound 5e-5 at scale 6.3.
  const double bound = float32_bound(max_abs(full), model->config().hidden_size);
  options.logits_at = torch::tensor(std::vector<int64_t>{7, 2}, torch::kInt64).view({1, 2});
  torch::Tensor picked = model->forward(row_tensor(ids), torch::arange(length).view({1, length}), options)[0];
  testing::expect_within_bound(max_abs_difference(picked[0], full[7]), bound, "logits_at 7");
  testing::expect_within_bound(max_abs_difference(picked[1], full[2]), bound, "logits_at 2");
  options.logits_at.reset();
  options.last_position_only = true;
  torch::Tensor last = model->forward(row_tensor(ids), torch::arange(length).view({1, length}), options)[0];
  testing::expect_within_bound(max_abs_difference(last[0], full[length - 1]), bound, "last_position_only");
}

TEST(Transformer, BlockCausalMask) {
  AttentionSpec spec;
  spec.kind = AttentionKind::kBlockCausal;
  spec.block_size = 2;
  torch::Tensor mask = visibility_mask(spec, 4, 4, 0, torch::kCPU)[0][0];
  // blocks {0,1} {2,3}: a query sees its own block and earlier ones.
  std::vector<std::vector<int>> expected{{1, 1, 0, 0}, {1, 1, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}};
  for (int q = 0; q < 4; ++q)
    for (int k = 0; k < 4; ++k) EXPECT_EQ(mask[q][k].item<bool>(), expected[q][k] == 1) << q << "," << k;
}

}  // namespace
}  // namespace stepwise
