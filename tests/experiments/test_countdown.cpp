// Countdown text forms, held-out targets and the Stream-of-Search style generator: parsing,
// step arithmetic, target ranges and splits, and determinism by seed.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "experiments/tasks/countdown_format.h"
#include "experiments/tasks/countdown_generator.h"
#include "experiments/tasks/countdown_scorers.h"
#include "experiments/tasks/countdown_targets.h"

namespace stepwise::tasks {
namespace {

TEST(CountdownFormat, ParsesInputWithTargetLast) {
  auto input = parse_countdown_input("86,28,13,31,96");
  ASSERT_TRUE(input.has_value());
  EXPECT_EQ(input->numbers, (std::vector<int64_t>{86, 28, 13, 31}));
  EXPECT_EQ(input->target, 96);
  EXPECT_EQ(format_countdown_input(*input), "86,28,13,31,96");
}

TEST(CountdownFormat, RejectsMalformedInput) {
  for (const char* text : {"", "86", "86,,96", "a,b,c", "86,28, 96", "-5,10", "86,28,", "086,28,96"})
    EXPECT_FALSE(parse_countdown_input(text).has_value()) << "'" << text << "'";
}

TEST(CountdownFormat, ParsesAndFormatsSteps) {
  auto steps = parse_countdown_steps("86+28=114,31-13=18,114-18=96");
  ASSERT_TRUE(steps.has_value());
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].left, 86);
  EXPECT_EQ((*steps)[0].op, '+');
  EXPECT_EQ((*steps)[0].right, 28);
  EXPECT_EQ((*steps)[0].result, 114);
  EXPECT_EQ((*steps)[1].op, '-');
  EXPECT_EQ((*steps)[2].result, 96);
  EXPECT_EQ(format_countdown_steps(*steps), "86+28=114,31-13=18,114-18=96");
  auto negative = parse_countdown_steps("3-5=-2");
  ASSERT_TRUE(negative.has_value());
  EXPECT_EQ((*negative)[0].result, -2);
}

TEST(CountdownFormat, RejectsMalformedSteps) {
  for (const char* text :
       {"", ",", "86+28=114,", "86+28", "86+28=", "86 + 28=114", "086+28=114", "86+28=114=1", "86^28=114", "+28=114",
        "86+28=0114", "86+-28=58", "86+28=114 ", "1+1=-0", "1234567890123456789+1=1234567890123456790"})
    EXPECT_FALSE(parse_countdown_steps(text).has_value()) << "'" << text << "'";
}

TEST(CountdownFormat, StepArithmetic) {
  EXPECT_TRUE(countdown_step_is_correct({86, '+', 28, 114}));
  EXPECT_FALSE(countdown_step_is_correct({86, '+', 28, 115}));
  EXPECT_TRUE(countdown_step_is_correct({31, '-', 13, 18}));
  EXPECT_TRUE(countdown_step_is_correct({3, '-', 5, -2}));
  EXPECT_TRUE(countdown_step_is_correct({22, '*', 10, 220}));
  EXPECT_TRUE(countdown_step_is_correct({2550, '/', 50, 51}));
  EXPECT_FALSE(countdown_step_is_correct({7, '/', 2, 3}));  // remainder 1
  EXPECT_FALSE(countdown_step_is_correct({7, '/', 0, 0}));
  EXPECT_FALSE(countdown_step_is_correct({999999999999999999, '*', 999999999999999999, 1}));  // overflows
}

TEST(CountdownTargets, HeldOutIsTenPercentOfTheRange) {
  std::set<int64_t> distinct(kHeldOutCountdownTargets.begin(), kHeldOutCountdownTargets.end());
  EXPECT_EQ(distinct.size(), 9u);  // 9 of the 91 targets 10..100
  for (int64_t target : distinct) {
    EXPECT_GE(target, kMinCountdownTarget);
    EXPECT_LE(target, kMaxCountdownTarget);
  }
  EXPECT_TRUE(is_held_out_countdown_target(57));
  EXPECT_FALSE(is_held_out_countdown_target(58));
}

std::vector<TaskRecord> generate(int numbers, CountdownSplit split, int64_t count, uint64_t seed) {
  CountdownSpec spec;
  spec.numbers = numbers;
  spec.split = split;
  return generate_countdown_records(spec, count, seed);
}

void expect_well_formed(const std::vector<TaskRecord>& records, int numbers, CountdownSplit split) {
  for (const auto& record : records) {
    auto input = parse_countdown_input(record.input);
    ASSERT_TRUE(input.has_value()) << record.input;
    EXPECT_EQ(input->numbers.size(), static_cast<size_t>(numbers));
    for (int64_t number : input->numbers) {
      EXPECT_GE(number, 1);
      EXPECT_LE(number, 99);
    }
    EXPECT_GE(input->target, 10);
    EXPECT_LE(input->target, 100);
    EXPECT_EQ(is_held_out_countdown_target(input->target), split == CountdownSplit::kHeldOut) << record.input;
    auto steps = parse_countdown_steps(record.output);
    ASSERT_TRUE(steps.has_value()) << record.output;
    EXPECT_EQ(steps->size(), static_cast<size_t>(numbers - 1));
    EXPECT_EQ(steps->back().result, input->target);
    for (const auto& step : *steps) EXPECT_GT(step.result, 0) << record.output;  // no negatives, no zero
    EXPECT_TRUE(countdown_equations_correct(record.input, record.output)) << record.input << " " << record.output;
    EXPECT_TRUE(countdown_numbers_correct(record.input, record.output)) << record.input << " " << record.output;
  }
}

TEST(CountdownGenerator, SolutionsPassBothScorers) {
  for (int numbers : {3, 4, 5}) {
    expect_well_formed(generate(numbers, CountdownSplit::kInDistribution, 60, 1), numbers,
                       CountdownSplit::kInDistribution);
    expect_well_formed(generate(numbers, CountdownSplit::kHeldOut, 20, 1), numbers, CountdownSplit::kHeldOut);
  }
}

TEST(CountdownGenerator, HeldOutTargetsNeverInDistribution) {
  std::set<int64_t> targets;
  for (const auto& record : generate(4, CountdownSplit::kInDistribution, 1000, 2)) {
    const int64_t target = parse_countdown_input(record.input)->target;
    EXPECT_FALSE(is_held_out_countdown_target(target)) << record.input;
    targets.insert(target);
  }
  // Targets spread over the range: most of the 82 in-distribution targets appear in 1000 problems.
  EXPECT_GT(targets.size(), 70u);
}

TEST(CountdownGenerator, HeldOutSplitUsesOnlyHeldOutTargets) {
  std::set<int64_t> targets;
  for (const auto& record : generate(4, CountdownSplit::kHeldOut, 200, 2))
    targets.insert(parse_countdown_input(record.input)->target);
  for (int64_t target : targets) EXPECT_TRUE(is_held_out_countdown_target(target)) << target;
  EXPECT_EQ(targets.size(), kHeldOutCountdownTargets.size());
}

TEST(CountdownGenerator, DeterministicBySeed) {
  EXPECT_EQ(generate(4, CountdownSplit::kInDistribution, 30, 9), generate(4, CountdownSplit::kInDistribution, 30, 9));
  EXPECT_NE(generate(4, CountdownSplit::kInDistribution, 30, 9), generate(4, CountdownSplit::kInDistribution, 30, 10));
  const auto long_run = generate(3, CountdownSplit::kInDistribution, 30, 9);
  const auto short_run = generate(3, CountdownSplit::kInDistribution, 10, 9);
  EXPECT_TRUE(std::equal(short_run.begin(), short_run.end(), long_run.begin()));
}

TEST(CountdownGenerator, SpecsWithOneSeedAreIndependent) {
  const auto three = generate(3, CountdownSplit::kInDistribution, 1, 4);
  const auto four = generate(4, CountdownSplit::kInDistribution, 1, 4);
  // Different specs draw from different streams: the start numbers do not share a prefix.
  const auto first_three = parse_countdown_input(three[0].input)->numbers;
  const auto first_four = parse_countdown_input(four[0].input)->numbers;
  EXPECT_FALSE(std::equal(first_three.begin(), first_three.end(), first_four.begin()));
}

TEST(CountdownGenerator, RejectsBadSpecs) {
  EXPECT_THROW(generate(2, CountdownSplit::kInDistribution, 1, 0), Error);
  EXPECT_THROW(generate(6, CountdownSplit::kInDistribution, 1, 0), Error);
  EXPECT_THROW(generate(4, CountdownSplit::kInDistribution, -1, 0), Error);
  CountdownSpec spec;
  spec.min_number = 0;
  EXPECT_THROW(generate_countdown_records(spec, 1, 0), Error);
}

}  // namespace
}  // namespace stepwise::tasks
