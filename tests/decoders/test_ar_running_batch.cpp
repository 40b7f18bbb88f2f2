// The running AR batch (decoders/ar_running_batch.h) against the AR decoder run on each request alone:
// requests joining at different steps with prompts shorter and longer than the batch, leaving early
// through stop tokens, max_new_tokens or a cancelling observer, greedy and seeded sampling, in float32
// and bfloat16. Every row's tokens, commit steps and forward count equal its request decoded alone, and
// the commits its observer saw, in order and placed at their positions, are its final tokens.
// Greedy rows must agree with their alone runs up to the first step, if any, that the alone run decided
// by no more than twice the float32 or bfloat16 bound between two evaluation orders
// (tests/support/numeric_bounds.h): a near-tie that batch shapes may flip by rounding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "decoders/ar_running_batch.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::fixture_model;

std::shared_ptr<const Transformer> load(const std::string& name, torch::ScalarType dtype = torch::kFloat32) {
  return load_checkpoint(fixture_model(name), LoadOptions{dtype, torch::kCPU});
}

// A prompt of `length` ids in [1, 380) that differs with `salt`.
std::vector<int64_t> prompt_of(int64_t length, int64_t salt) {
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < length; ++i) prompt.push_back(1 + (salt * 37 + i * 11 + i * i * 3) % 379);
  return prompt;
}

// One request of a schedule: it joins the running batch before step `join_step`.
struct Arrival {
  int64_t join_step = 0;
  std::vector<std::vector<int64_t>> prompts;
  int64_t max_new_tokens = 0;
  std::vector<uint64_t> seeds;
  int64_t cancel_after = -1;  // >= 0: its observer cancels row 0 once that row has this many tokens
};

DecodeRequest request_of(const Arrival& arrival) {
  DecodeRequest request;
  request.prompts = arrival.prompts;
  request.max_new_tokens = arrival.max_new_tokens;
  request.seeds = arrival.seeds;
  if (arrival.cancel_after >= 0) {
    const int64_t last = arrival.cancel_after - 1;
    request.observer = [last](const StepCommit& commit) {
      const bool cancel = commit.row == 0 && commit.positions.back() >= last;
      return cancel ? StepVerdict::kCancelRow : StepVerdict::kContinue;
    };
  }
  return request;
}

// What a schedule run through one running batch gave: per arrival its result, and how the batch looked
// over the steps.
struct ScheduleRun {
  std::vector<DecodeResult> results;  // by arrival
  // By arrival and row: the tokens its observer saw, placed at their positions (arrivals that cancel: empty).
  std::vector<std::vector<std::vector<int64_t>>> observed;
  int64_t most_rows = 0;              // the most rows of any step
  std::vector<int64_t> widths;        // the batch's width before every step
};

ScheduleRun run_schedule(const ArDecoder& decoder, const std::vector<Arrival>& arrivals) {
  ArRunningBatch batch(decoder);
  ScheduleRun run;
  run.results.resize(arrivals.size());
  run.observed.resize(arrivals.size());
  std::map<int64_t, size_t> arrival_of;  // request id -> arrival
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
        run.observed[a].resize(request.prompts.size());
        request.observer = [&run, a](const StepCommit& commit) {
          std::vector<int64_t>& row = run.observed[a].at(commit.row);
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

DecodeResult alone(ArDecoder& decoder, const Arrival& arrival) { return decoder.decode(request_of(arrival)); }

// Rows join at steps 0, 0, 2, 5 and 9 with prompts of 5, 13, 3, 24 and 9 tokens (the fourth shifts every
// row right), leave after 6 to 30 tokens, one request holds two rows.
std::vector<Arrival> staggered_schedule(const std::vector<uint64_t>& seeds) {
  std::vector<Arrival> arrivals(5);
  arrivals[0] = {0, {prompt_of(5, 1)}, 30, {seeds[0]}};
  arrivals[1] = {0, {prompt_of(13, 2)}, 8, {seeds[1]}};
  arrivals[2] = {2, {prompt_of(3, 3), prompt_of(7, 4)}, 14, {seeds[2], seeds[3]}};
  arrivals[3] = {5, {prompt_of(24, 5)}, 6, {seeds[4]}};
  arrivals[4] = {9, {prompt_of(9, 6)}, 20, {seeds[5]}};
  return arrivals;
}

void expect_batch_changed_shape(const ScheduleRun& run) {
  EXPECT_GE(run.most_rows, 4);
  bool grew_by_shift = false, trimmed = false;
  for (size_t i = 1; i < run.widths.size(); ++i) {
    grew_by_shift = grew_by_shift || run.widths[i] > run.widths[i - 1] + 1;
    trimmed = trimmed || (run.widths[i] < run.widths[i - 1] && run.widths[i] > 0);
  }
  EXPECT_TRUE(grew_by_shift) << "no longer row shifted the batch";
  EXPECT_TRUE(trimmed) << "no leaving row trimmed the batch";
}

// The observed commits of every arrival that does not cancel are its final tokens.
void expect_observed_tokens(const ScheduleRun& run) {
  for (size_t a = 0; a < run.results.size(); ++a)
    if (!run.observed[a].empty()) EXPECT_EQ(run.observed[a], run.results[a].tokens) << "arrival " << a;
}

void expect_same_as_alone(const DecodeResult& batched, const DecodeResult& single, const std::string& label) {
  EXPECT_EQ(batched.tokens, single.tokens) << label;
  EXPECT_EQ(batched.commit_step, single.commit_step) << label;
  EXPECT_EQ(batched.stats.forward_calls, single.stats.forward_calls) << label;
  EXPECT_EQ(batched.stats.generated_tokens, single.stats.generated_tokens) << label;
}

ArConfig greedy_no_stop() {
  ArConfig config;
  config.stop_on_eos = false;
  return config;
}

TEST(ArRunningBatch, GreedyRowsEqualTheirRequestsAlone) {
  for (const char* name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny"}) {
    SCOPED_TRACE(name);
    auto model = load(name);
    ArDecoder decoder(model, greedy_no_stop());
    const std::vector<Arrival> arrivals = staggered_schedule({0, 0, 0, 0, 0, 0});
    const ScheduleRun run = run_schedule(decoder, arrivals);
    expect_batch_changed_shape(run);
    expect_observed_tokens(run);
    size_t firm_arrivals = 0;
    for (size_t a = 0; a < arrivals.size(); ++a) {
      const DecodeResult single = alone(decoder, arrivals[a]);
      bool firm = true;
      for (size_t r = 0; r < arrivals[a].prompts.size(); ++r) {
        const std::string label = std::string(name) + " arrival " + std::to_string(a) + " row " + std::to_string(r);
        testing::expect_equal_until_near_tie(*model, arrivals[a].prompts[r], single.tokens[r], run.results[a].tokens[r], label);
        firm = firm && testing::stable_greedy_steps(*model, arrivals[a].prompts[r], single.tokens[r]) ==
                           single.tokens[r].size();
      }
      // Every choice firm: the whole result is exact (commit steps and forward calls too).
      if (firm) expect_same_as_alone(run.results[a], single, std::string(name) + " arrival " + std::to_string(a));
      firm_arrivals += firm ? 1 : 0;
    }
    EXPECT_GE(firm_arrivals, 3u) << "too few requests decided firmly at every step";
  }
}

TEST(ArRunningBatch, SampledRowsEqualTheirRequestsAlone) {
  auto model = load("qwen2-tiny");
  ArConfig config = greedy_no_stop();
  config.sampling.temperature = 1.0;
  config.sampling.top_k = 50;
  ArDecoder decoder(model, config);
  const std::vector<Arrival> arrivals = staggered_schedule({7, 11, 3, 4, 19, 23});
  const ScheduleRun run = run_schedule(decoder, arrivals);
  expect_batch_changed_shape(run);
  expect_observed_tokens(run);
  for (size_t a = 0; a < arrivals.size(); ++a)
    expect_same_as_alone(run.results[a], alone(decoder, arrivals[a]), "arrival " + std::to_string(a));
}

TEST(ArRunningBatch, RowsLeavingByStopTokenOrCancelDoNotDisturbTheRest) {
  auto model = load("llama-tiny");
  ArDecoder free_running(model, greedy_no_stop());
  std::vector<Arrival> arrivals = staggered_schedule({0, 0, 0, 0, 0, 0});
  // A stop id that ends arrival 0 at its fourth token and never appears in the others' outputs earlier.
  const std::vector<int64_t> first = alone(free_running, arrivals[0]).tokens[0];
  ArConfig config = greedy_no_stop();
  config.stop_ids = {first[3]};
  ArDecoder decoder(model, config);
  arrivals[4].cancel_after = 5;  // its client leaves after 5 tokens
  const ScheduleRun run = run_schedule(decoder, arrivals);
  expect_observed_tokens(run);
  for (size_t a = 0; a < arrivals.size(); ++a) {
    const DecodeResult single = alone(decoder, arrivals[a]);
    expect_same_as_alone(run.results[a], single, "arrival " + std::to_string(a));
  }
  const auto stop_at = std::find(first.begin(), first.end(), first[3]);
  EXPECT_EQ(run.results[0].tokens[0], std::vector<int64_t>(first.begin(), stop_at + 1));
  EXPECT_EQ(run.results[4].tokens[0].size(), 5u);
  EXPECT_LT(run.results[4].stats.forward_calls, arrivals[4].max_new_tokens);
}

TEST(ArRunningBatch, Bfloat16RowsEqualTheirRequestsAloneUntilANearTie) {
  auto model = load("qwen2-tiny-bf16", torch::kBFloat16);
  ArDecoder decoder(model, greedy_no_stop());
  const std::vector<Arrival> arrivals = staggered_schedule({0, 0, 0, 0, 0, 0});
  const ScheduleRun run = run_schedule(decoder, arrivals);
  expect_batch_changed_shape(run);
  for (size_t a = 0; a < arrivals.size(); ++a) {
    const DecodeResult single = alone(decoder, arrivals[a]);
    for (size_t r = 0; r < arrivals[a].prompts.size(); ++r)
      testing::expect_equal_until_near_tie(*model, arrivals[a].prompts[r], single.tokens[r], run.results[a].tokens[r],
                                  "arrival " + std::to_string(a) + " row " + std::to_string(r));
  }
}

TEST(ArRunningBatch, ChecksRequestsAsTheDecoderDoes) {
  auto model = load("qwen2-tiny");
  ArDecoder decoder(model, greedy_no_stop());
  ArRunningBatch batch(decoder);
  DecodeRequest empty_prompt;
  empty_prompt.prompts = {{}};
  empty_prompt.max_new_tokens = 4;
  EXPECT_THROW(batch.add(empty_prompt), Error);
  DecodeRequest outside;
  outside.prompts = {{1, 100000}};
  outside.max_new_tokens = 4;
  EXPECT_THROW(batch.add(outside), Error);
  EXPECT_EQ(batch.rows(), 0);
  DecodeRequest nothing;
  nothing.prompts = {{1, 2, 3}};
  nothing.max_new_tokens = 0;
  const int64_t id = batch.add(nothing);
  const auto finished = batch.take_finished();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].first, id);
  EXPECT_TRUE(finished[0].second.tokens[0].empty());
  EXPECT_EQ(finished[0].second.stats.forward_calls, 0);

  ArConfig recompute = greedy_no_stop();
  recompute.use_cache = false;
  ArDecoder without_cache(model, recompute);
  EXPECT_THROW(ArRunningBatch{without_cache}, Error);
}

}  // namespace
}  // namespace stepwise
