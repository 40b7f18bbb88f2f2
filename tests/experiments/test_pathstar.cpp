// The path-star task: graph structure of generated problems (a star of `degree` arms of `length`
// nodes, edges directed away from the center, distinct labels in range), determinism by seed, the
// held-out split disjoint from training graphs, the text form, and pathstar_exact on right, wrong and
// malformed predictions.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/tasks/metric.h"
#include "experiments/tasks/pathstar.h"
#include "experiments/tasks/pathstar_scorers.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/scoring.h"

namespace stepwise::tasks {
namespace {

PathStarSpec spec_of(int degree, int length, int nodes, PathStarSplit split = PathStarSplit::kInDistribution) {
  PathStarSpec spec;
  spec.degree = degree;
  spec.length = length;
  spec.nodes = nodes;
  spec.split = split;
  return spec;
}

TEST(PathStar, GeneratedGraphsAreStarsWithTheAnswerPath) {
  for (const PathStarSpec& spec : {spec_of(2, 5, 50), spec_of(3, 4, 20), spec_of(5, 3, 16), spec_of(3, 3, 10)}) {
    for (const TaskRecord& record : generate_pathstar_records(spec, 50, 7)) {
      auto problem = parse_pathstar_input(record.input);
      ASSERT_TRUE(problem.has_value()) << record.input;
      ASSERT_EQ(problem->edges.size(), static_cast<size_t>(spec.degree * spec.length)) << record.input;
      std::map<int, int> out_degree, in_degree;
      std::set<int> labels{problem->start};
      for (const auto& [from, to] : problem->edges) {
        ++out_degree[from];
        ++in_degree[to];
        labels.insert(from);
        labels.insert(to);
      }
      // 1 + degree * length distinct labels, all below `nodes`.
      EXPECT_EQ(labels.size(), static_cast<size_t>(1 + spec.degree * spec.length));
      EXPECT_GE(*labels.begin(), 0);
      EXPECT_LT(*labels.rbegin(), spec.nodes);
      // The center has `degree` children and no parent; every other node one parent and at most one child.
      EXPECT_EQ(out_degree[problem->start], spec.degree);
      EXPECT_EQ(in_degree.count(problem->start), 0u);
      for (int label : labels) {
        if (label == problem->start) continue;
        EXPECT_EQ(in_degree[label], 1);
        EXPECT_LE(out_degree[label], 1);
      }
      // The goal is a leaf and the answer is the one path from the center to it, length + 1 labels.
      EXPECT_EQ(out_degree[problem->goal], 0);
      auto path = parse_pathstar_path(record.output);
      ASSERT_TRUE(path.has_value());
      EXPECT_EQ(path->size(), static_cast<size_t>(spec.length + 1));
      EXPECT_EQ(path->front(), problem->start);
      EXPECT_EQ(path->back(), problem->goal);
      EXPECT_EQ(solve_pathstar(*problem), path);
      // Every label fits the character vocabulary.
      CharTokenizer chars;
      EXPECT_NO_THROW(encode_plain(record, chars));
    }
  }
}

TEST(PathStar, TextFormMatchesTheTaskDescription) {
  PathStarProblem problem;
  problem.edges = {{4, 7}, {0, 4}, {0, 12}, {12, 3}};
  problem.start = 0;
  problem.goal = 7;
  problem.path = {0, 4, 7};
  const TaskRecord record = pathstar_record(problem);
  EXPECT_EQ(record.input, "4,7|0,4|0,12|12,3/0,7");
  EXPECT_EQ(record.output, "0,4,7");
  auto parsed = parse_pathstar_input(record.input);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->edges, problem.edges);
  EXPECT_EQ(solve_pathstar(*parsed), problem.path);
  for (const char* bad : {"", "4,7|0,4", "4,7|0,4/0", "4,7||0,4/0,7", "4,7|0,-4/0,7", "4,7|0,04/0,7", "4;7/0,7",
                          "4,7/0,7/1,2", " 4,7/0,7"})
    EXPECT_FALSE(parse_pathstar_input(bad).has_value()) << "'" << bad << "'";
}

TEST(PathStar, DeterministicBySeedAndPrefixStable) {
  const PathStarSpec spec = spec_of(3, 4, 20);
  const auto first = generate_pathstar_records(spec, 40, 11);
  EXPECT_EQ(first, generate_pathstar_records(spec, 40, 11));
  const auto prefix = generate_pathstar_records(spec, 10, 11);
  EXPECT_EQ(prefix, std::vector<TaskRecord>(first.begin(), first.begin() + 10));
  EXPECT_NE(first, generate_pathstar_records(spec, 40, 12));
  // The same seed with another shape is another stream.
  EXPECT_NE(first.front().input, generate_pathstar_records(spec_of(3, 4, 21), 1, 11).front().input);
  // Goal arms are spread over the arms: the first path node is each of the center's children about
  // equally often (hand bound: 600 draws over 3 arms, each at least 150).
  std::map<int, int> arm_counts;
  for (const TaskRecord& record : generate_pathstar_records(spec, 600, 3)) {
    auto problem = *parse_pathstar_input(record.input);
    std::vector<int> children;
    for (const auto& [from, to] : problem.edges)
      if (from == problem.start) children.push_back(to);
    std::sort(children.begin(), children.end());
    const int first_step = (*parse_pathstar_path(record.output))[1];
    ++arm_counts[static_cast<int>(std::find(children.begin(), children.end(), first_step) - children.begin())];
  }
  for (int arm = 0; arm < 3; ++arm) EXPECT_GT(arm_counts[arm], 150) << "arm rank " << arm;
}

TEST(PathStar, HeldOutGraphsNeverAppearInTraining) {
  const PathStarSpec train = spec_of(3, 3, 10), test = spec_of(3, 3, 10, PathStarSplit::kHeldOut);
  std::set<std::string> held_out;
  for (const TaskRecord& record : generate_pathstar_records(test, 300, 1)) {
    auto problem = *parse_pathstar_input(record.input);
    EXPECT_TRUE(is_held_out_pathstar_graph(problem));
    held_out.insert(pathstar_graph_key(problem));
  }
  // Training draws from any seed never hit a held-out graph, whatever the goal or edge order.
  for (uint64_t seed : {1u, 2u, 3u}) {
    for (const TaskRecord& record : generate_pathstar_records(train, 2000, seed)) {
      auto problem = *parse_pathstar_input(record.input);
      EXPECT_FALSE(is_held_out_pathstar_graph(problem));
      EXPECT_EQ(held_out.count(pathstar_graph_key(problem)), 0u) << record.input;
    }
  }
  // The key ignores edge order, start and goal.
  PathStarProblem a = *parse_pathstar_input("0,1|1,2|0,3|3,4/0,2"), b = *parse_pathstar_input("3,4|0,3|1,2|0,1/0,4");
  EXPECT_EQ(pathstar_graph_key(a), pathstar_graph_key(b));
}

TEST(PathStar, SpecBoundsAreErrors) {
  EXPECT_THROW(validate_pathstar_spec(spec_of(1, 4, 20)), Error);
  EXPECT_THROW(validate_pathstar_spec(spec_of(11, 2, 100)), Error);
  EXPECT_THROW(validate_pathstar_spec(spec_of(3, 0, 20)), Error);
  EXPECT_THROW(validate_pathstar_spec(spec_of(3, 4, 12)), Error);  // needs 13 labels
  EXPECT_THROW(validate_pathstar_spec(spec_of(3, 4, 1001)), Error);
  EXPECT_NO_THROW(validate_pathstar_spec(spec_of(3, 4, 13)));
  EXPECT_THROW(generate_pathstar_records(spec_of(3, 4, 20), -1, 0), Error);
}

TEST(PathStarScorer, ExactPathOnlyAndMalformedIsWrong) {
  const TaskRecord record{"4,7|0,4|0,12|12,3/0,7", "0,4,7"};
  EXPECT_TRUE(pathstar_exact_correct(record.output, "0,4,7"));
  EXPECT_TRUE(score_prediction(Metric::kPathStarExact, record, "0,4,7"));
  // Wrong arm (the Clever-Hans failure), wrong order, partial and overlong paths.
  for (const char* wrong : {"0,12,3", "7,4,0", "0,4", "0,4,7,3", "4,7", "0"})
    EXPECT_FALSE(pathstar_exact_correct(record.output, wrong)) << wrong;
  // Malformed: never an exception.
  for (const char* malformed : {"", ",", "0,4,7,", ",0,4,7", "0,,4,7", "0, 4,7", " 0,4,7", "0,4,07", "0,4,+7", "0,4,-7",
                                "0|4|7", "0,4,7[MASK]", "[MASK],4,7", "0,4,7[UNK]", "0,4,99999999999", "a,b,c",
                                "0,4,7\n", "\xff\xfe"}) {
    EXPECT_NO_THROW(pathstar_exact_correct(record.output, malformed)) << "'" << malformed << "'";
    EXPECT_FALSE(pathstar_exact_correct(record.output, malformed)) << "'" << malformed << "'";
  }
  // A malformed reference is a data error.
  EXPECT_THROW(pathstar_exact_correct("0", "0"), Error);
  EXPECT_THROW(pathstar_exact_correct("0,x", "0,x"), Error);
  const ScoreSummary summary =
      score_predictions(Metric::kPathStarExact, {record, record, record}, {"0,4,7", "0,12,3", "garbage"});
  EXPECT_EQ(summary.correct, 1);
  EXPECT_EQ(summary.n, 3);
}

}  // namespace
}  // namespace stepwise::tasks
