// The experiment file (YAML) as plain data: task, models (a checkpoint path or a `train:` block),
// decoders (each with an explicit `type:`), the sweep grid, seeds and run settings. Parsing is strict:
// unknown keys, wrong types and out-of-range values fail before any work with file, line and key path.
// Every point of the sweep grid is parsed into its typed DecoderSpec and validated once, when the file
// is read (decoder_spec.h); training blocks by training_spec.h. See docs/configuration.md for every key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiments/runner/decoder_spec.h"
#include "experiments/runner/quantize_spec.h"
#include "experiments/runner/training_spec.h"
#include "experiments/tasks/countdown_generator.h"
#include "experiments/tasks/metric.h"
#include "experiments/tasks/pathstar.h"
#include "experiments/tasks/sudoku_generator.h"
#include "experiments/tasks/task_kind.h"

namespace stepwise::runner {

enum class PromptFormat {
  kPlain,         // source [SEP] target [EOS] over the character vocabulary (models trained here)
  kDreamFewShot,  // Dream's few-shot text prompt, for pretrained checkpoints with a tokenizer.json
};

struct TaskSpec {
  tasks::TaskKind kind = tasks::TaskKind::kSudoku;
  std::optional<std::string> path;  // JSONL file of {"input", "output"}; else generated
  tasks::SudokuSpec sudoku;
  tasks::CountdownSpec countdown;
  tasks::PathStarSpec pathstar;     // evaluated on held-out graphs by default; trained on the others
  int64_t num_examples = 100;       // evaluated examples (the first N of the file or generator)
  uint64_t seed = 1;                // seed of the generated evaluation set
  tasks::Metric metric = tasks::Metric::kSudokuValid;
  PromptFormat format = PromptFormat::kPlain;
  std::optional<int64_t> gen_length;  // generated tokens; default: the longest reference + 1
  std::string label() const;          // e.g. "sudoku4x4-g10", "countdown3", "file:cd4_test.jsonl"
};

struct ModelSpec {
  std::string name;
  std::optional<std::string> path;    // Hugging Face checkpoint directory
  std::optional<task_training::TaskTrainingSpec> train;  // or: train one (cached by a hash of this block and the task)
  std::optional<std::string> from;    // or: the weights of another (unquantized) model, to quantize
  std::optional<QuantizeSpec> quantize;  // quantize those weights (cached by a hash of the block and them)
  std::string tokenizer = "auto";     // "char" | "auto" (char for trained models, DIR/tokenizer.json) | a path
};

// The prefix store shared by every run of an experiment (decoders/prefix_reuse.h): KV of prompt
// prefixes computed once is reused by later batches, runs and (through the disk tier) processes.
struct PrefixCacheSpec {
  int64_t memory_mb = 256;               // memory tier bound, MiB
  std::optional<std::string> disk_path;  // disk tier directory (relative: to the current directory)
  int64_t chunk_tokens = 32;             // tokens per stored causal-prefix chunk
};

struct SweepAxis {
  std::string decoder;           // decoder name
  std::string key;               // a setting of that decoder's type (decoder_keys.h)
  std::vector<YAML::Node> values;
};

// One decoder at one point of its sweep axes (the decoder as written when it has none).
struct SweepPoint {
  DecoderSpec decoder;                       // the block with the point's values, parsed and validated
  std::map<std::string, std::string> swept;  // key -> value text, for labels and results
};

// One point of the grid: a decoder with its sweep values applied, and a seed.
struct RunSpec {
  DecoderSpec decoder;
  std::map<std::string, std::string> swept;  // key -> value text, for labels and results
  uint64_t seed = 0;
  std::string run_id;                        // hash of everything that defines the run
  std::string label() const;
};

struct ExperimentSpec {
  std::string file;
  std::string name;
  std::string output_dir;        // results go here (default: results/<name>)
  std::string cache_dir;         // trained models are cached here (default: runs/models)
  std::string device = "cpu";
  std::string dtype = "float32";
  int threads = 0;               // 0 = all cores
  int train_jobs = 1;            // models trained at once, one process each (concurrent_training.h)
  int64_t batch_size = 16;       // examples decoded together
  bool record_traces = false;    // store per-position commit steps
  std::optional<PrefixCacheSpec> prefix_cache;  // absent: no KV reuse across requests
  std::vector<uint64_t> seeds{0};
  TaskSpec task;
  std::map<std::string, ModelSpec> models;
  std::vector<DecoderSpec> decoders;  // as written (before sweeps)
  std::vector<SweepAxis> sweep;
  std::vector<SweepPoint> points;     // every decoder's sweep points, decoders in file order
  std::string resolved_yaml;          // the file's YAML, normalised, stored with the results
};

// One entry of `models:` (`name: {path | train | from, quantize, tokenizer}`); errors name the key path.
ModelSpec parse_model(const std::string& name, const YamlReader& block);

ExperimentSpec load_experiment_spec(const std::string& file);
ExperimentSpec parse_experiment_spec(const std::string& yaml_text, const std::string& file);

// Every run of the grid: the sweep points (decoders in file order, each decoder's own axes as a
// cartesian product) times the seeds, each with its run id. Nothing is parsed or validated here.
std::vector<RunSpec> expand_runs(const ExperimentSpec& spec);

// Short stable hash (16 hex digits) of a text.
std::string stable_hash(const std::string& text);

}  // namespace stepwise::runner
