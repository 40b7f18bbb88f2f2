// What one run of an experiment produces: one decoder setting on one task with one model, every
// example's prediction, correctness and cost, and the summary the tables and plots use. These records
// are what the results files (HDF5, CSV, JSONL) hold; they are torch-free plain data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/latency_summary.h"

namespace stepwise::runner {

struct ExampleRecord {
  int64_t index = 0;                 // position in the task's example list
  std::string prompt;                // task input as text
  std::string reference;             // expected output text
  std::string prediction;            // decoded output text
  bool correct = false;
  int64_t forward_calls = 0;         // NFE
  int64_t generated_tokens = 0;
  double wall_s = 0.0;               // share of the batch's wall time (batch wall / batch size)
  double first_token_s = 0.0;        // the decode call's own time to its first token
  // Time to first token as a request sees it: seconds from the start of the run's execution (every
  // pending example is taken as arriving then) until its batch's first token was known, so it includes
  // the batches decoded before it. Examples finished by an earlier, interrupted execution keep the value
  // measured then; 0 in files written before this field existed.
  double ttft_s = 0.0;
  std::vector<int64_t> commit_step;  // per generated position; empty unless traces are recorded
};

struct RunRecord {
  std::string run_id;                // stable hash of everything that defines the run
  std::string name;                  // human label, e.g. "diffusion steps=8"
  std::string decoder_type;          // "ar" | "speculative" | "diffusion"
  std::string model;                 // model name from the spec
  std::string task;                  // task label, e.g. "sudoku4x4"
  std::string metric;                // scorer name, e.g. "sudoku_valid"
  std::map<std::string, std::string> settings;  // resolved decoder settings (steps, alg, ...), as text
  std::vector<ExampleRecord> examples;

  // Summary figures.
  double accuracy() const;
  double mean_forward_calls() const;
  double total_wall_s() const;
  double tokens_per_second() const;
  LatencySummary ttft_summary() const;  // mean and p90 of the examples' ttft_s
};

}  // namespace stepwise::runner
