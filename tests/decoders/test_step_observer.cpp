// The per-step observer of every decoder (decoders/decoder.h): decoding with an observer gives exactly
// the tokens, commit steps and forward counts of decoding without one; the observed commits of a row,
// placed at their positions, are its final tokens, each position reported once, at the step the result
// records for it (AR and speculative: in order, one after another); an observer that cancels a row
// stops that row where it was cancelled while the other rows decode as before, and a decode whose rows
// are all cancelled returns after the step that cancelled them.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "decoders/ar_decoder.h"
#include "decoders/diffusion/block_diffusion_decoder.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/diffusion/remasking_decoder.h"
#include "decoders/speculative_decoder.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::fixture_model;
using testing::json_ids;

std::shared_ptr<const Transformer> load(const std::string& name) { return load_checkpoint(fixture_model(name)); }

// Every commit the observer saw, per row in arrival order.
struct Observed {
  std::map<size_t, std::vector<StepCommit>> rows;
  StepObserver observer() {
    return [this](const StepCommit& commit) {
      rows[commit.row].push_back(commit);
      return StepVerdict::kContinue;
    };
  }
};

DecodeRequest request_of(std::vector<std::vector<int64_t>> prompts, int64_t max_new, std::vector<uint64_t> seeds = {}) {
  DecodeRequest request;
  request.prompts = std::move(prompts);
  request.max_new_tokens = max_new;
  request.seeds = std::move(seeds);
  return request;
}

// Decodes `request` without and with an observer and checks the observer changed nothing and saw it all.
// `in_order`: positions arrive left to right without gaps; `check_steps`: each commit's step equals the
// result's commit_step of its positions.
void expect_observed_exactly(Decoder& decoder, DecodeRequest request, bool in_order, bool check_steps) {
  SCOPED_TRACE(decoder.describe());
  const DecodeResult plain = decoder.decode(request);
  Observed observed;
  request.observer = observed.observer();
  const DecodeResult watched = decoder.decode(request);
  EXPECT_EQ(watched.tokens, plain.tokens);
  EXPECT_EQ(watched.commit_step, plain.commit_step);
  EXPECT_EQ(watched.stats.forward_calls, plain.stats.forward_calls);
  ASSERT_EQ(observed.rows.size(), plain.tokens.size());
  for (size_t row = 0; row < plain.tokens.size(); ++row) {
    const std::vector<int64_t>& tokens = plain.tokens[row];
    std::vector<int64_t> placed(tokens.size(), -1);
    std::vector<int> times_reported(tokens.size(), 0);
    int64_t next_position = 0, last_step = -1;
    for (const StepCommit& commit : observed.rows[row]) {
      ASSERT_EQ(commit.positions.size(), commit.tokens.size());
      ASSERT_FALSE(commit.positions.empty());
      EXPECT_GT(commit.step, last_step) << "one report per row and step, steps increasing";
      last_step = commit.step;
      for (size_t i = 0; i < commit.positions.size(); ++i) {
        const int64_t position = commit.positions[i];
        ASSERT_GE(position, 0);
        ASSERT_LT(position, static_cast<int64_t>(tokens.size()));
        if (in_order) EXPECT_EQ(position, next_position++);
        placed[static_cast<size_t>(position)] = commit.tokens[i];
        ++times_reported[static_cast<size_t>(position)];
        if (check_steps && plain.commit_step[row][static_cast<size_t>(position)] >= 0)
          EXPECT_EQ(commit.step, plain.commit_step[row][static_cast<size_t>(position)]) << "row " << row << " position " << position;
      }
    }
    EXPECT_EQ(placed, tokens) << "row " << row;
    EXPECT_EQ(times_reported, std::vector<int>(tokens.size(), 1)) << "row " << row;
  }
}

TEST(StepObserver, ArGreedyAndSampledBatchesAreObservedTokenByToken) {
  auto model = load("qwen2-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  const std::vector<int64_t> shorter(prompt.begin(), prompt.begin() + 2);
  ArConfig greedy;
  greedy.stop_on_eos = false;
  ArDecoder greedy_decoder(model, greedy);
  expect_observed_exactly(greedy_decoder, request_of({prompt, shorter}, 10), true, true);
  ArConfig sampled = greedy;
  sampled.sampling.temperature = 1.0;
  ArDecoder sampled_decoder(model, sampled);
  expect_observed_exactly(sampled_decoder, request_of({prompt, shorter}, 10, {3, 4}), true, true);
  ArConfig no_cache = greedy;
  no_cache.use_cache = false;
  ArDecoder no_cache_decoder(model, no_cache);
  expect_observed_exactly(no_cache_decoder, request_of({prompt}, 6), true, true);
}

TEST(StepObserver, SpeculativeRoundsAreObservedAsTheyAreAccepted) {
  auto target = load("qwen2-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  SpeculativeConfig config;
  config.draft_length = 3;
  config.stop_on_eos = false;
  SpeculativeDecoder with_model(target, DraftModel{load("llama-tiny")}, config);
  expect_observed_exactly(with_model, request_of({prompt}, 12), true, true);
  SpeculativeDecoder with_lookup(target, PromptLookup{2, 1}, config);
  expect_observed_exactly(with_lookup, request_of({prompt}, 12), true, true);
}

TEST(StepObserver, DiffusionStepsAreObservedWithTheirUnmaskedPositions) {
  auto model = load("dream-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("dream-tiny")["prompt"]);
  const std::vector<int64_t> shorter(prompt.begin(), prompt.begin() + 3);
  DiffusionConfig steps;
  steps.selection = Selection::kEntropy;
  steps.steps = 8;
  steps.block_length = 8;
  DiffusionDecoder stepped(model, steps);
  expect_observed_exactly(stepped, request_of({prompt, shorter}, 16), false, true);
  DiffusionConfig threshold;
  threshold.threshold = 0.5;
  threshold.fixed = {{3, prompt.front()}};  // a fixed position is reported with the first step
  DiffusionDecoder thresholded(model, threshold);
  expect_observed_exactly(thresholded, request_of({prompt}, 8), false, true);

  BlockDiffusionConfig block;
  block.block_length = 4;
  block.threshold = 0.5;
  block.selection = Selection::kMaskgitPlus;
  block.cache = BlockCacheMode::kBlock;
  BlockDiffusionDecoder block_decoder(model, block);
  expect_observed_exactly(block_decoder, request_of({prompt, shorter}, 8), false, true);

  // Remasking may change any position until its last pass: everything is reported then, at once.
  RemaskingConfig remasking;
  remasking.steps = 4;
  RemaskingDecoder remasking_decoder(model, remasking);
  expect_observed_exactly(remasking_decoder, request_of({prompt}, 8), false, false);
}

TEST(StepObserver, ACancelledArRowStopsThereAndTheOthersAreUnchanged) {
  auto model = load("qwen2-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  const std::vector<int64_t> shorter(prompt.begin(), prompt.begin() + 2);
  ArConfig config;
  config.stop_on_eos = false;
  ArDecoder decoder(model, config);
  DecodeRequest request = request_of({prompt, shorter}, 10);
  const DecodeResult plain = decoder.decode(request);
  request.observer = [](const StepCommit& commit) {
    return commit.row == 0 && commit.positions.back() == 2 ? StepVerdict::kCancelRow : StepVerdict::kContinue;
  };
  const DecodeResult cancelled = decoder.decode(request);
  EXPECT_EQ(cancelled.tokens[0], std::vector<int64_t>(plain.tokens[0].begin(), plain.tokens[0].begin() + 3));
  EXPECT_EQ(cancelled.tokens[1], plain.tokens[1]);

  request.observer = [](const StepCommit&) { return StepVerdict::kCancelRow; };
  const DecodeResult all = decoder.decode(request);
  EXPECT_EQ(all.stats.forward_calls, 1);  // the prefill's token, then nothing
  EXPECT_EQ(all.tokens[0].size(), 1u);
  EXPECT_EQ(all.tokens[1].size(), 1u);
}

TEST(StepObserver, CancellingEveryRowEndsSpeculativeAndDiffusionDecodesEarly) {
  const StepObserver cancel = [](const StepCommit&) { return StepVerdict::kCancelRow; };
  auto target = load("qwen2-tiny");
  const std::vector<int64_t> ar_prompt = json_ids(fixture_expected("qwen2-tiny")["prompt"]);
  SpeculativeConfig speculative;
  speculative.draft_length = 3;
  speculative.stop_on_eos = false;
  DecodeRequest request = request_of({ar_prompt}, 12);
  request.observer = cancel;
  const DecodeResult spec = SpeculativeDecoder(target, PromptLookup{2, 1}, speculative).decode(request);
  EXPECT_EQ(spec.stats.forward_calls, 1);
  EXPECT_EQ(spec.tokens[0].size(), 1u);

  auto model = load("dream-tiny");
  const std::vector<int64_t> prompt = json_ids(fixture_expected("dream-tiny")["prompt"]);
  DiffusionConfig steps;
  steps.steps = 8;
  request = request_of({prompt, prompt}, 8);
  // A step may commit nothing (the time grid's first steps): the decode ends after the first that does.
  int64_t first_commit_step = -1;
  request.observer = [&](const StepCommit& commit) {
    if (first_commit_step < 0) first_commit_step = commit.step;
    return StepVerdict::kCancelRow;
  };
  const int64_t forwards = DiffusionDecoder(model, steps).decode(request).stats.forward_calls;
  ASSERT_GE(first_commit_step, 0);
  EXPECT_EQ(forwards, first_commit_step + 1);
  BlockDiffusionConfig block;
  block.block_length = 4;
  block.threshold = 0.5;
  block.cache = BlockCacheMode::kBlock;
  request.observer = cancel;  // a threshold step always commits
  EXPECT_EQ(BlockDiffusionDecoder(model, block).decode(request).stats.forward_calls, 1);
  // One row cancelled: the decode runs its whole schedule for the other.
  request.observer = nullptr;
  const int64_t whole = DiffusionDecoder(model, steps).decode(request).stats.forward_calls;
  request.observer = [](const StepCommit& commit) { return commit.row == 0 ? StepVerdict::kCancelRow : StepVerdict::kContinue; };
  EXPECT_EQ(DiffusionDecoder(model, steps).decode(request).stats.forward_calls, whole);
  EXPECT_EQ(whole, steps.steps);
}

}  // namespace
}  // namespace stepwise
