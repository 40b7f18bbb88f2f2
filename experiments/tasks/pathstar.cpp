// Path-star graphs: generation, the text form, the held-out split and the reference solver.
#include "experiments/tasks/pathstar.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "experiments/tasks/portable_random.h"

namespace stepwise::tasks {
namespace {

constexpr uint64_t kPathStarStream = 3;  // tells path-star streams apart from Sudoku and Countdown ones
constexpr int kMaxDraws = 100000;
constexpr uint64_t kHeldOutModulus = 10;  // one graph in ten is held out

// A decimal label without sign or leading zeros, at most 9 digits; nullopt otherwise.
std::optional<int> parse_label(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : text) {
    if (c == separator) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  return parts;
}

std::optional<std::pair<int, int>> parse_pair(const std::string& text) {
  const std::vector<std::string> parts = split(text, ',');
  if (parts.size() != 2) return std::nullopt;
  auto a = parse_label(parts[0]), b = parse_label(parts[1]);
  if (!a || !b) return std::nullopt;
  return std::make_pair(*a, *b);
}

// FNV-1a 64 of a text.
uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

void validate_pathstar_spec(const PathStarSpec& spec) {
  check(spec.degree >= 2 && spec.degree <= 10, "path-star: degree must be 2..10, got ", spec.degree);
  check(spec.length >= 1 && spec.length <= 20, "path-star: length must be 1..20, got ", spec.length);
  const int needed = 1 + spec.degree * spec.length;
  check(spec.nodes >= needed && spec.nodes <= 1000, "path-star: nodes must be ", needed,
        "..1000 (1 + degree * length distinct labels), got ", spec.nodes);
}

PathStarProblem generate_pathstar(const PathStarSpec& spec, std::mt19937_64& rng) {
  validate_pathstar_spec(spec);
  const size_t used = static_cast<size_t>(1 + spec.degree * spec.length);
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    // The first `used` entries of a partial Fisher-Yates shuffle: center, then arm after arm.
    std::vector<int> labels(static_cast<size_t>(spec.nodes));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i);
    for (size_t i = 0; i < used; ++i) {
      const size_t j = i + static_cast<size_t>(uniform_below(rng, labels.size() - i));
      std::swap(labels[i], labels[j]);
    }
    PathStarProblem problem;
    problem.start = labels[0];
    const size_t goal_arm = static_cast<size_t>(uniform_below(rng, static_cast<uint64_t>(spec.degree)));
    for (size_t arm = 0; arm < static_cast<size_t>(spec.degree); ++arm) {
      int previous = problem.start;
      std::vector<int> arm_path{problem.start};
      for (size_t k = 0; k < static_cast<size_t>(spec.length); ++k) {
        const int node = labels[1 + arm * static_cast<size_t>(spec.length) + k];
        problem.edges.emplace_back(previous, node);
        arm_path.push_back(node);
        previous = node;
      }
      if (arm == goal_arm) {
        problem.goal = previous;
        problem.path = arm_path;
      }
    }
    shuffle_in_place(problem.edges, rng);
    if (is_held_out_pathstar_graph(problem) == (spec.split == PathStarSplit::kHeldOut)) return problem;
  }
  fail("no path-star graph of the requested split found in ", kMaxDraws, " draws");
}

TaskRecord pathstar_record(const PathStarProblem& problem) {
  std::string input;
  for (size_t i = 0; i < problem.edges.size(); ++i) {
    if (i > 0) input += '|';
    input += std::to_string(problem.edges[i].first) + "," + std::to_string(problem.edges[i].second);
  }
  input += "/" + std::to_string(problem.start) + "," + std::to_string(problem.goal);
  return TaskRecord{input, format_pathstar_path(problem.path)};
}

std::vector<TaskRecord> generate_pathstar_records(const PathStarSpec& spec, int64_t count, uint64_t seed) {
  validate_pathstar_spec(spec);
  check(count >= 0, "the number of path-star records must not be negative, got ", count);
  std::mt19937_64 rng =
      make_generator(seed, {kPathStarStream, static_cast<uint64_t>(spec.degree), static_cast<uint64_t>(spec.length),
                            static_cast<uint64_t>(spec.nodes), spec.split == PathStarSplit::kHeldOut ? 1u : 0u});
  std::vector<TaskRecord> records;
  records.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) records.push_back(pathstar_record(generate_pathstar(spec, rng)));
  return records;
}

std::optional<PathStarProblem> parse_pathstar_input(const std::string& text) {
  const std::vector<std::string> halves = split(text, '/');
  if (halves.size() != 2) return std::nullopt;
  auto endpoints = parse_pair(halves[1]);
  if (!endpoints) return std::nullopt;
  PathStarProblem problem;
  problem.start = endpoints->first;
  problem.goal = endpoints->second;
  for (const std::string& item : split(halves[0], '|')) {
    auto edge = parse_pair(item);
    if (!edge) return std::nullopt;
    problem.edges.push_back(*edge);
  }
  return problem;
}

std::optional<std::vector<int>> parse_pathstar_path(const std::string& text) {
  std::vector<int> path;
  for (const std::string& item : split(text, ',')) {
    auto label = parse_label(item);
    if (!label) return std::nullopt;
    path.push_back(*label);
  }
  return path;
}

std::string format_pathstar_path(const std::vector<int>& path) {
  std::string text;
  for (size_t i = 0; i < path.size(); ++i) text += (i > 0 ? "," : "") + std::to_string(path[i]);
  return text;
}

std::string pathstar_graph_key(const PathStarProblem& problem) {
  std::vector<std::pair<int, int>> edges = problem.edges;
  std::sort(edges.begin(), edges.end());
  std::string key;
  for (const auto& [from, to] : edges) key += std::to_string(from) + "," + std::to_string(to) + "|";
  return key;
}

bool is_held_out_pathstar_graph(const PathStarProblem& problem) {
  return fnv1a(pathstar_graph_key(problem)) % kHeldOutModulus == 0;
}

std::optional<std::vector<int>> solve_pathstar(const PathStarProblem& problem) {
  // Walk back from the goal: every node of a tree has at most one parent.
  std::map<int, int> parent;
  for (const auto& [from, to] : problem.edges)
    if (!parent.emplace(to, from).second) return std::nullopt;  // two parents: not a tree
  std::vector<int> reversed{problem.goal};
  std::set<int> seen{problem.goal};
  while (reversed.back() != problem.start) {
    auto it = parent.find(reversed.back());
    if (it == parent.end() || !seen.insert(it->second).second) return std::nullopt;
    reversed.push_back(it->second);
  }
  if (reversed.size() < 2) return std::nullopt;
  return std::vector<int>(reversed.rbegin(), reversed.rend());
}

}  // namespace stepwise::tasks
