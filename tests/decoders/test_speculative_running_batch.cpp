// The running speculative batch (decoders/speculative_running_batch.h) against the speculative decoder
// run on each request alone: requests joining at different rounds with prompts shorter and longer than
// the batch, leaving through stop tokens, max_new_tokens or a cancelling observer, drafts from another
// model, from the target itself and from prompt lookup, fixed and adaptive draft lengths, greedy and
// seeded sampling. Rows accept different numbers of drafts in the same round, so the batch re-aligns.
// Greedy rows must agree with their alone runs (and so, by the speculative decoder's own tests, with
// target greedy AR) up to the first step, if any, that the alone run decided by no more than twice the
// float32 bound between two evaluation orders (tests/support/numeric_bounds.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "decoders/running_batch.h"
#include "decoders/speculative_decoder.h"
#include "decoders/speculative_running_batch.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"

namespace stepwise {
namespace {

using testing::fixture_model;

std::shared_ptr<const Transformer> load(const std::string& name) { return load_checkpoint(fixture_model(name)); }

// A prompt of `length` ids in [1, 380) that differs with `salt`, with a repeated stretch so prompt lookup
// finds matches.
std::vector<int64_t> prompt_of(int64_t length, int64_t salt) {
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < length; ++i) prompt.push_back(1 + (salt * 37 + (i % 7) * 11 + (i % 7) * (i % 7) * 3) % 379);
  return prompt;
}

SpeculativeConfig make_config(int64_t draft_length, bool adaptive, double temperature = 0.0) {
  SpeculativeConfig config;
  config.draft_length = draft_length;
  config.adaptive = adaptive;
  config.sampling.temperature = temperature;
  config.stop_on_eos = false;
  return config;
}

// One request of a schedule: it joins the running batch before round `join_step`.
struct Arrival {
  int64_t join_step = 0;
  std::vector<int64_t> prompt;
  int64_t max_new_tokens = 0;
  uint64_t seed = 0;
  int64_t cancel_after = -1;  // >= 0: its observer cancels once it has this many tokens
};

DecodeRequest request_of(const Arrival& arrival) {
  DecodeRequest request;
  request.prompts = {arrival.prompt};
  request.max_new_tokens = arrival.max_new_tokens;
  request.seeds = {arrival.seed};
  if (arrival.cancel_after >= 0) {
    const int64_t last = arrival.cancel_after - 1;
    request.observer = [last](const StepCommit& commit) {
      return commit.positions.back() >= last ? StepVerdict::kCancelRow : StepVerdict::kContinue;
    };
  }
  return request;
}

struct ScheduleRun {
  std::vector<DecodeResult> results;                // by arrival
  std::vector<std::vector<int64_t>> observed;       // by arrival: the commits its observer saw, placed
  int64_t most_rows = 0;
  std::vector<int64_t> widths;                      // the batch's width before every round
};

ScheduleRun run_schedule(const SpeculativeDecoder& decoder, const std::vector<Arrival>& arrivals) {
  SpeculativeRunningBatch batch(decoder);
  ScheduleRun run;
  run.results.resize(arrivals.size());
  run.observed.resize(arrivals.size());
  std::map<int64_t, size_t> arrival_of;
  size_t open = arrivals.size();
  auto collect = [&] {
    for (auto& [id, result] : batch.take_finished()) {
      run.results.at(arrival_of.at(id)) = std::move(result);
      --open;
    }
  };
  for (int64_t step = 0; open > 0; ++step) {
    for (size_t a = 0; a < arrivals.size(); ++a) {
      if (arrivals[a].join_step != step) continue;
      DecodeRequest request = request_of(arrivals[a]);
      if (!request.observer) {
        request.observer = [&run, a](const StepCommit& commit) {
          std::vector<int64_t>& row = run.observed[a];
          for (size_t i = 0; i < commit.positions.size(); ++i) {
            const auto position = static_cast<size_t>(commit.positions[i]);
            EXPECT_EQ(position, row.size()) << "arrival " << a << ": positions reported out of order";
            row.resize(std::max(row.size(), position + 1));
            row[position] = commit.tokens[i];
          }
          return StepVerdict::kContinue;
        };
      }
      arrival_of[batch.add(request)] = a;
    }
    collect();
    run.most_rows = std::max(run.most_rows, batch.rows());
    run.widths.push_back(batch.width());
    batch.step();
    collect();
    EXPECT_LT(step, 1000) << "the schedule never ends";
    if (step >= 1000) break;
  }
  return run;
}

DecodeResult alone(SpeculativeDecoder& decoder, const Arrival& arrival) { return decoder.decode(request_of(arrival)); }

// Requests join at rounds 0, 0, 1, 2 and 3 with prompts of 5, 13, 3, 24 and 9 tokens (the fourth shifts
// every row right) and want 8 to 40 tokens: four rows run together even when every draft is accepted.
std::vector<Arrival> staggered_schedule(const std::vector<uint64_t>& seeds) {
  return {{0, prompt_of(5, 1), 40, seeds[0]},
          {0, prompt_of(13, 2), 10, seeds[1]},
          {1, prompt_of(3, 3), 24, seeds[2]},
          {2, prompt_of(24, 5), 8, seeds[3]},
          {3, prompt_of(9, 6), 30, seeds[4]}};
}

void expect_same_as_alone(const DecodeResult& batched, const DecodeResult& single, const std::string& label) {
  EXPECT_EQ(batched.tokens, single.tokens) << label;
  EXPECT_EQ(batched.commit_step, single.commit_step) << label;
  EXPECT_EQ(batched.stats.forward_calls, single.stats.forward_calls) << label;
  EXPECT_EQ(batched.stats.generated_tokens, single.stats.generated_tokens) << label;
  for (const char* key : {"drafted", "accepted", "draft_rounds", "draft_lengths", "draft_forward_calls"})
    EXPECT_EQ(batched.stats.details.at(key), single.stats.details.at(key)) << label << " " << key;
}

void expect_observed_tokens(const ScheduleRun& run) {
  for (size_t a = 0; a < run.results.size(); ++a)
    if (!run.observed[a].empty()) EXPECT_EQ(run.observed[a], run.results[a].tokens.at(0)) << "arrival " << a;
}

void expect_batch_changed_shape(const ScheduleRun& run) {
  EXPECT_GE(run.most_rows, 4);
  bool shifted = false, trimmed = false;
  for (size_t i = 1; i < run.widths.size(); ++i) {
    shifted = shifted || run.widths[i] > run.widths[i - 1] + 1;
    trimmed = trimmed || (run.widths[i] < run.widths[i - 1] && run.widths[i] > 0);
  }
  EXPECT_TRUE(shifted) << "no longer row or longer acceptance moved the batch's end";
  EXPECT_TRUE(trimmed) << "no leaving row trimmed the batch";
}

TEST(SpeculativeRunningBatch, GreedyRowsEqualTheirRequestsAlone) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"qwen2-tiny", "llama-tiny"}, {"qwen3-tiny", "qwen2-tiny"}, {"llama-tiny", "qwen3-tiny"}};
  for (const auto& [target_name, draft_name] : pairs) {
    auto target = load(target_name);
    const std::vector<std::pair<std::string, DraftSpec>> drafts = {
        {draft_name, DraftModel{load(draft_name)}}, {"itself", DraftModel{target}}, {"ngram 2", PromptLookup{2, 1}}};
    for (const auto& [draft_label, draft] : drafts) {
      for (bool adaptive : {false, true}) {
        const std::string label = target_name + " draft " + draft_label + (adaptive ? " adaptive" : "");
        SCOPED_TRACE(label);
        SpeculativeDecoder decoder(target, draft, make_config(3, adaptive));
        const std::vector<Arrival> arrivals = staggered_schedule({0, 0, 0, 0, 0});
        const ScheduleRun run = run_schedule(decoder, arrivals);
        expect_batch_changed_shape(run);
        expect_observed_tokens(run);
        size_t firm = 0;
        for (size_t a = 0; a < arrivals.size(); ++a) {
          const DecodeResult single = alone(decoder, arrivals[a]);
          const std::string row_label = label + " arrival " + std::to_string(a);
          testing::expect_equal_until_near_tie(*target, arrivals[a].prompt, single.tokens[0], run.results[a].tokens[0],
                                               row_label);
          // Decided firmly at every step: the whole result is exact (commit steps, rounds, counters too).
          if (testing::stable_greedy_steps(*target, arrivals[a].prompt, single.tokens[0]) == single.tokens[0].size()) {
            expect_same_as_alone(run.results[a], single, row_label);
            ++firm;
          }
        }
        EXPECT_GE(firm, 3u) << "too few requests decided firmly at every step";
      }
    }
  }
}

TEST(SpeculativeRunningBatch, GreedyRowsEqualTargetGreedyAr) {
  auto target = load("qwen2-tiny");
  ArConfig ar_config;
  ar_config.stop_on_eos = false;
  ArDecoder ar(target, ar_config);
  SpeculativeDecoder decoder(target, DraftModel{load("llama-tiny")}, make_config(4, true));
  const std::vector<Arrival> arrivals = staggered_schedule({0, 0, 0, 0, 0});
  const ScheduleRun run = run_schedule(decoder, arrivals);
  for (size_t a = 0; a < arrivals.size(); ++a) {
    const DecodeResult greedy = ar.decode(request_of(arrivals[a]));
    testing::expect_equal_until_near_tie(*target, arrivals[a].prompt, greedy.tokens[0], run.results[a].tokens[0],
                                         "arrival " + std::to_string(a));
  }
}

TEST(SpeculativeRunningBatch, SampledRowsEqualTheirRequestsAlone) {
  auto target = load("qwen2-tiny");
  for (const auto& [label, draft] : std::vector<std::pair<std::string, DraftSpec>>{
           {"llama-tiny", DraftModel{load("llama-tiny")}}, {"ngram 2", PromptLookup{2, 1}}}) {
    SCOPED_TRACE(label);
    SpeculativeConfig config = make_config(3, true, 1.0);
    config.sampling.top_k = 50;
    SpeculativeDecoder decoder(target, draft, config);
    const std::vector<Arrival> arrivals = staggered_schedule({7, 11, 3, 19, 23});
    const ScheduleRun run = run_schedule(decoder, arrivals);
    expect_batch_changed_shape(run);
    expect_observed_tokens(run);
    for (size_t a = 0; a < arrivals.size(); ++a)
      expect_same_as_alone(run.results[a], alone(decoder, arrivals[a]), "arrival " + std::to_string(a));
  }
}

TEST(SpeculativeRunningBatch, RowsLeavingByStopTokenOrCancelDoNotDisturbTheRest) {
  auto target = load("llama-tiny");
  SpeculativeDecoder free_running(target, DraftModel{load("qwen3-tiny")}, make_config(3, false));
  std::vector<Arrival> arrivals = staggered_schedule({0, 0, 0, 0, 0});
  // A stop id that ends arrival 0 at its fourth token.
  const std::vector<int64_t> first = alone(free_running, arrivals[0]).tokens[0];
  SpeculativeConfig config = make_config(3, false);
  config.stop_ids = {first[3]};
  SpeculativeDecoder decoder(target, DraftModel{load("qwen3-tiny")}, config);
  arrivals[4].cancel_after = 5;  // its client leaves after 5 tokens
  const ScheduleRun run = run_schedule(decoder, arrivals);
  expect_observed_tokens(run);
  for (size_t a = 0; a < arrivals.size(); ++a)
    expect_same_as_alone(run.results[a], alone(decoder, arrivals[a]), "arrival " + std::to_string(a));
  const auto stop_at = std::find(first.begin(), first.end(), first[3]);
  EXPECT_EQ(run.results[0].tokens[0], std::vector<int64_t>(first.begin(), stop_at + 1));
  // Cancelled once 5 tokens were out: the round that crossed 5 may have emitted a few more.
  EXPECT_GE(run.results[4].tokens[0].size(), 5u);
  EXPECT_LT(run.results[4].tokens[0].size(), static_cast<size_t>(arrivals[4].max_new_tokens));
}

TEST(SpeculativeRunningBatch, ChecksRequestsAsTheDecoderDoes) {
  auto target = load("qwen2-tiny");
  SpeculativeDecoder decoder(target, PromptLookup{2, 1}, make_config(2, false));
  std::unique_ptr<RunningBatch> batch = start_running_batch(decoder);
  ASSERT_NE(batch, nullptr);
  DecodeRequest two_prompts;
  two_prompts.prompts = {{1, 2}, {3, 4}};
  two_prompts.max_new_tokens = 4;
  EXPECT_THROW(batch->add(two_prompts), Error);
  DecodeRequest outside;
  outside.prompts = {{1, 100000}};
  outside.max_new_tokens = 4;
  EXPECT_THROW(batch->add(outside), Error);
  EXPECT_EQ(batch->rows(), 0);
  DecodeRequest nothing;
  nothing.prompts = {{1, 2, 3}};
  nothing.max_new_tokens = 0;
  const int64_t id = batch->add(nothing);
  const auto finished = batch->take_finished();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].first, id);
  EXPECT_TRUE(finished[0].second.tokens[0].empty());
  EXPECT_EQ(finished[0].second.stats.forward_calls, 0);
}

}  // namespace
}  // namespace stepwise
