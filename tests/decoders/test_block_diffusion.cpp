// Block-diffusion decoder: exact properties on the fixture models. Blocks of one token with one step
// each are AR greedy decoding under a causal mask (Dream's shift reads every token from the one
// before it); one block over the whole canvas is full-sequence diffusion; the block cache gives the
// decode without a cache; the sub-block dual cache is exact for sub-blocks of one token and on a
// one-layer model; left-padded rows decode as they do alone; forward counts follow the plan.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "decoders/diffusion/block_diffusion_decoder.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"

namespace stepwise {
namespace {

using testing::expect_firm_diffusion_decisions;
using testing::fixture_expected;
using testing::fixture_model;
using testing::json_ids;

std::shared_ptr<const Transformer> load(const std::string& name) { return load_checkpoint(fixture_model(name)); }
std::vector<int64_t> prompt_of(const std::string& name) { return json_ids(fixture_expected(name)["prompt"]); }

DecodeResult run(const std::shared_ptr<const Transformer>& model, const BlockDiffusionConfig& config,
                 std::vector<std::vector<int64_t>> prompts, int64_t gen_len, bool trace = false) {
  DecodeRequest request;
  request.prompts = std::move(prompts);
  request.max_new_tokens = gen_len;
  request.record_trace = trace;
  return BlockDiffusionDecoder(model, config).decode(request);
}

BlockDiffusionConfig threshold_config(int64_t block, std::optional<int64_t> sub, double threshold,
                                      BlockCacheMode cache) {
  BlockDiffusionConfig config;
  config.block_length = block;
  config.sub_block_length = sub;
  config.threshold = threshold;
  config.selection = Selection::kMaskgitPlus;
  config.cache = cache;
  return config;
}

std::vector<int64_t> ar_greedy(const std::shared_ptr<const Transformer>& model, const std::vector<int64_t>& prompt,
                               int64_t count) {
  ArConfig config;
  config.stop_on_eos = false;
  DecodeRequest request;
  request.prompts = {prompt};
  request.max_new_tokens = count;
  return ArDecoder(model, config).decode(request).tokens[0];
}

TEST(BlockDiffusion, BlocksOfOneTokenAreArGreedyUnderTheShift) {
  auto model = load("dream-tiny");  // Dream's shift: column j reads the output at j - 1
  const std::vector<int64_t> prompt = prompt_of("dream-tiny");
  const std::vector<int64_t> shorter(prompt.begin(), prompt.begin() + 3);
  const int64_t count = 12;
  const std::vector<int64_t> greedy = ar_greedy(model, prompt, count);
  const std::vector<int64_t> greedy_shorter = ar_greedy(model, shorter, count);
  // Other shapes than the AR decoder's (a mask column fed beside the token before it, the whole canvas
  // without a cache): equal only if every greedy step wins by more than twice the float32 bound.
  testing::expect_stable_greedy(*model, prompt, greedy, "dream-tiny causal greedy");
  testing::expect_stable_greedy(*model, shorter, greedy_shorter, "dream-tiny causal greedy, short prompt");
  for (BlockCacheMode cache : {BlockCacheMode::kNone, BlockCacheMode::kBlock}) {
    for (bool threshold : {false, true}) {
      SCOPED_TRACE(to_string(cache) + (threshold ? " threshold" : " one step per block"));
      BlockDiffusionConfig config;
      config.block_length = 1;
      if (threshold)
        config.threshold = 0.9;  // one candidate per block: always the most confident one
      else
        config.steps_per_block = 1;
      config.cache = cache;
      const DecodeResult result = run(model, config, {prompt}, count);
      EXPECT_EQ(result.tokens[0], greedy);
      EXPECT_EQ(result.stats.forward_calls, count);  // one forward per token, as AR decoding
      // A left-padded batch: every row as it decodes alone.
      const DecodeResult batch = run(model, config, {shorter, prompt}, count);
      EXPECT_EQ(batch.tokens[0], greedy_shorter);
      EXPECT_EQ(batch.tokens[1], greedy);
    }
  }
}

TEST(BlockDiffusion, OneBlockOverTheCanvasIsFullSequenceDiffusion) {
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    auto model = load(name);
    const std::vector<int64_t> prompt = prompt_of(name);
    const int64_t gen_len = 16;
    const int64_t width = static_cast<int64_t>(prompt.size()) + gen_len;
    for (bool threshold : {false, true}) {
      SCOPED_TRACE(name + (threshold ? " threshold" : " steps"));
      DiffusionConfig full;
      full.selection = Selection::kEntropy;
      full.steps = 8;
      if (threshold) {
        full.selection = Selection::kMaskgitPlus;
        full.threshold = 0.05;
      }
      DecodeRequest request;
      request.prompts = {prompt};
      request.max_new_tokens = gen_len;
      request.record_trace = true;
      const DecodeResult reference = DiffusionDecoder(model, full).decode(request);
      for (BlockCacheMode cache : {BlockCacheMode::kNone, BlockCacheMode::kBlock}) {
        BlockDiffusionConfig config;
        config.block_length = width;  // prompt and generation in one block: bidirectional
        config.selection = full.selection;
        config.threshold = full.threshold;
        if (!threshold) config.steps_per_block = full.steps;
        config.cache = cache;
        const DecodeResult result = run(model, config, {prompt}, gen_len, /*trace=*/true);
        // Same operations on the same shapes without a cache; through the cache's buffers otherwise.
        expect_firm_diffusion_decisions(result.stats.details, model->config(), std::nullopt, width, name);
        EXPECT_EQ(result.tokens, reference.tokens);
        EXPECT_EQ(result.commit_step, reference.commit_step);
        EXPECT_EQ(result.stats.forward_calls, reference.stats.forward_calls);
      }
    }
  }
}

TEST(BlockDiffusion, BlockCacheEqualsNoCache) {
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    auto model = load(name);
    const std::vector<int64_t> prompt = prompt_of(name);
    const std::vector<int64_t> shorter(prompt.begin(), prompt.begin() + 2);
    for (bool threshold : {false, true}) {
      SCOPED_TRACE(name + (threshold ? " threshold" : " steps"));
      BlockDiffusionConfig config = threshold_config(4, 2, 0.05, BlockCacheMode::kNone);
      if (!threshold) {
        config.threshold.reset();
        config.selection = Selection::kEntropy;
        config.steps_per_block = 4;
      }
      const DecodeResult plain = run(model, config, {prompt}, 14, /*trace=*/true);
      expect_firm_diffusion_decisions(plain.stats.details, model->config(), std::nullopt,
                                      static_cast<int64_t>(prompt.size()) + 14, name);
      config.cache = BlockCacheMode::kBlock;
      const DecodeResult cached = run(model, config, {prompt}, 14);
      EXPECT_EQ(cached.tokens, plain.tokens);
      EXPECT_EQ(cached.commit_step, plain.commit_step);
      EXPECT_EQ(cached.stats.forward_calls, plain.stats.forward_calls);
      // Fewer columns fed: the finished blocks are not recomputed.
      EXPECT_LT(cached.stats.details["tokens_fed"].get<int64_t>(), plain.stats.details["tokens_fed"].get<int64_t>());
      // A left-padded batch (the short prompt's blocks start elsewhere): each row as it decodes alone.
      const DecodeResult alone = run(model, config, {shorter}, 14, /*trace=*/true);
      expect_firm_diffusion_decisions(alone.stats.details, model->config(), std::nullopt, 16, name + " short");
      const DecodeResult batch = run(model, config, {shorter, prompt}, 14);
      EXPECT_EQ(batch.tokens[0], alone.tokens[0]);
      EXPECT_EQ(batch.tokens[1], plain.tokens[0]);
      EXPECT_EQ(batch.commit_step[0], alone.commit_step[0]);
    }
  }
}

TEST(BlockDiffusion, DualCacheIsExactForSubBlocksOfOneToken) {
  auto model = load("dream-tiny");
  const std::vector<int64_t> prompt = prompt_of("dream-tiny");
  // Sub-blocks of one token finish in their first step, which is a refresh of the whole block.
  BlockDiffusionConfig config = threshold_config(4, 1, 0.9, BlockCacheMode::kBlock);
  const DecodeResult block = run(model, config, {prompt}, 12, /*trace=*/true);
  expect_firm_diffusion_decisions(block.stats.details, model->config(), std::nullopt,
                                  static_cast<int64_t>(prompt.size()) + 12, "dream-tiny");
  config.cache = BlockCacheMode::kDual;
  const DecodeResult dual = run(model, config, {prompt}, 12);
  EXPECT_EQ(dual.tokens, block.tokens);
  EXPECT_EQ(dual.stats.details["partial_forwards"].get<int64_t>(), 0);
}

// With one layer, keys and values depend only on each token and its position: the cached rest of the
// block is exact and sub-block forwards give the full block's logits.
TEST(BlockDiffusion, DualCacheIsExactOnAOneLayerModel) {
  for (const std::string name : {"dream-tiny", "llama-bidir-tiny"}) {
    TransformerConfig shape = load(name)->config();
    shape.num_layers = 1;
    auto model = random_transformer(shape, 13);
    // Sharpened as in the full-sequence cache test, so that decisions are far from rounding.
    torch::NoGradGuard no_grad;
    for (auto& [tensor_name, tensor] : model->named_parameters()) {
      if (tensor_name == "lm_head.weight") tensor.mul_(20.0);
      if (tensor_name.find("q_proj.weight") != std::string::npos ||
          tensor_name.find("k_proj.weight") != std::string::npos)
        tensor.mul_(20.0);
    }
    const std::vector<int64_t> prompt = prompt_of(name);
    for (bool threshold : {false, true}) {
      SCOPED_TRACE(name + (threshold ? " threshold" : " steps"));
      BlockDiffusionConfig config = threshold_config(8, 4, 0.3, BlockCacheMode::kBlock);
      if (!threshold) {
        config.threshold.reset();
        config.schedule = Schedule::kLladaEvenSplit;
        config.steps_per_block = 4;
      }
      const DecodeResult block = run(model, config, {prompt, prompt}, 16, /*trace=*/true);
      expect_firm_diffusion_decisions(block.stats.details, model->config(), std::nullopt,
                                      static_cast<int64_t>(prompt.size()) + 16, name);
      config.cache = BlockCacheMode::kDual;
      const DecodeResult dual = run(model, config, {prompt, prompt}, 16);
      EXPECT_EQ(dual.tokens, block.tokens);
      EXPECT_EQ(dual.commit_step, block.commit_step);
      EXPECT_GT(dual.stats.details["partial_forwards"].get<int64_t>(), 0);
      EXPECT_LT(dual.stats.details["tokens_fed"].get<int64_t>(), block.stats.details["tokens_fed"].get<int64_t>());
    }
  }
}

TEST(BlockDiffusion, ForwardsFollowThePlan) {
  auto model = load("llama-bidir-tiny");  // no shift: a block reads its own columns
  const std::vector<int64_t> prompt = {5, 6, 7, 8};  // one whole block of 4
  BlockDiffusionConfig config;
  config.block_length = 4;
  config.sub_block_length = 2;
  config.steps_per_block = 4;  // two steps per sub-block
  config.selection = Selection::kLowConfidence;
  config.schedule = Schedule::kLladaEvenSplit;
  const DecodeResult result = run(model, config, {prompt}, 8, /*trace=*/true);
  EXPECT_EQ(result.stats.forward_calls, 8);  // 2 blocks x 4 steps
  const std::vector<int64_t> reveals = result.stats.details["reveals_per_step"][0].get<std::vector<int64_t>>();
  EXPECT_EQ(reveals, std::vector<int64_t>(8, 1));
  // Commits go left to right by sub-block: positions 2j and 2j+1 within steps 2j and 2j+1.
  for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(result.commit_step[0][static_cast<size_t>(j)] / 2, j / 2) << j;
  EXPECT_EQ(result.stats.details["blocks"].get<int64_t>(), 2);
  EXPECT_DOUBLE_EQ(result.stats.details["tokens_per_forward"].get<double>(), 1.0);
  // The block cache feeds the prompt block and the first block, then the current block only.
  const std::vector<int64_t> fed = result.stats.details["tokens_fed_per_step"].get<std::vector<int64_t>>();
  EXPECT_EQ(fed, (std::vector<int64_t>{8, 4, 4, 4, 8, 4, 4, 4}));
  // A generation that ends inside a block: the last block is cut short.
  EXPECT_EQ(run(model, config, {prompt}, 6).tokens[0].size(), 6u);
}

TEST(BlockDiffusion, Errors) {
  auto model = load("dream-tiny");
  const std::vector<int64_t> prompt = prompt_of("dream-tiny");
  BlockDiffusionConfig both = threshold_config(4, std::nullopt, 0.9, BlockCacheMode::kBlock);
  both.steps_per_block = 4;
  EXPECT_THROW(BlockDiffusionDecoder(model, both), Error);
  EXPECT_THROW(BlockDiffusionDecoder(model, threshold_config(4, 3, 0.9, BlockCacheMode::kBlock)), Error);
  EXPECT_THROW(BlockDiffusionDecoder(model, threshold_config(4, std::nullopt, 0.9, BlockCacheMode::kDual)), Error);
  BlockDiffusionConfig uneven;
  uneven.block_length = 4;
  uneven.sub_block_length = 2;
  uneven.steps_per_block = 3;
  EXPECT_THROW(BlockDiffusionDecoder(model, uneven), Error);
  EXPECT_THROW(BlockDiffusionDecoder(load("qwen2-tiny"), threshold_config(4, 2, 0.9, BlockCacheMode::kBlock)), Error);
  const BlockDiffusionConfig config = threshold_config(4, 2, 0.9, BlockCacheMode::kBlock);
  EXPECT_THROW(run(model, config, {{}}, 8), Error);        // nothing for the shift to read the first token from
  EXPECT_THROW(run(model, config, {{1, 383}}, 8), Error);  // the mask token in a prompt
  EXPECT_THROW(run(model, config, {{1, 400}}, 8), Error);  // outside the vocabulary
  EXPECT_THROW(run(model, config, {prompt}, 0), Error);
}

}  // namespace
}  // namespace stepwise
