// The path-star planning task (Bachmann & Nagarajan, "The Pitfalls of Next-Token Prediction", ICML
// 2024): a star graph with a center and `degree` arms of `length` nodes each, node labels drawn
// without repeats from 0..nodes-1. The prompt lists every edge, directed away from the center, in a
// shuffled order, then the start (the center) and the goal (the leaf of one arm); the answer is the
// path from the center to the goal. Text form ({"input", "output"} records like the other tasks):
//   input  "a,b|c,d|...|e,f/S,G"   edges "from,to" joined by '|', then '/', then start and goal
//   output "S,n1,...,G"            length + 1 labels
// Labels are decimal without leading zeros. In the paper's terms (`deg_D_path_P_nodes_N`) the path
// has P = length + 1 nodes. Held-out graphs: a fixed tenth of all graphs, chosen by a hash of the
// edge set; the in-distribution split never produces one, the held-out split only those, so training
// and test graphs are disjoint for every seed. Parsing never throws (nullopt on anything malformed).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "experiments/tasks/task_record.h"

namespace stepwise::tasks {

enum class PathStarSplit {
  kInDistribution,  // graphs outside the held-out tenth
  kHeldOut,         // only held-out graphs
};

struct PathStarSpec {
  int degree = 3;   // arms: 2..10
  int length = 4;   // nodes per arm, the center excluded: 1..20
  int nodes = 20;   // label range 0..nodes-1: at least 1 + degree * length, at most 1000
  PathStarSplit split = PathStarSplit::kInDistribution;
};

struct PathStarProblem {
  std::vector<std::pair<int, int>> edges;  // (from, to), every edge directed away from the center
  int start = 0;                           // the center
  int goal = 0;                            // a leaf
  std::vector<int> path;                   // start, ..., goal
};

// Throws stepwise::Error naming the bad field.
void validate_pathstar_spec(const PathStarSpec& spec);

PathStarProblem generate_pathstar(const PathStarSpec& spec, std::mt19937_64& rng);
TaskRecord pathstar_record(const PathStarProblem& problem);
// `count` records from one generator made from `seed` and the spec (portable_random.h): deterministic
// on every platform; a prefix of a longer run equals a shorter run.
std::vector<TaskRecord> generate_pathstar_records(const PathStarSpec& spec, int64_t count, uint64_t seed);

// "a,b|...|e,f/S,G" -> edges, start and goal (path left empty); nullopt when malformed.
std::optional<PathStarProblem> parse_pathstar_input(const std::string& text);
// "S,n1,...,G" -> labels; nullopt when empty, malformed (spaces, signs, leading zeros, empty items).
std::optional<std::vector<int>> parse_pathstar_path(const std::string& text);
std::string format_pathstar_path(const std::vector<int>& path);

// The graph independent of edge order, start and goal: its edges sorted, as text.
std::string pathstar_graph_key(const PathStarProblem& problem);
bool is_held_out_pathstar_graph(const PathStarProblem& problem);

// The path from `start` to `goal` following the edges, if the graph has exactly one (nullopt else).
std::optional<std::vector<int>> solve_pathstar(const PathStarProblem& problem);

}  // namespace stepwise::tasks
