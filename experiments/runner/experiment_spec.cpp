// Experiment file parsing and sweep expansion.
#include "experiments/runner/experiment_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.h"
#include "core/regular_file.h"
#include "experiments/runner/decoder_keys.h"

namespace stepwise::runner {
namespace {

// Most runs one experiment file may define (decoders x sweep values x seeds).
constexpr size_t kMaxRuns = 10000;

TaskSpec parse_task(const YamlReader& block) {
  TaskSpec task;
  task.kind = tasks::parse_task_kind(block.choice("type", {"sudoku", "countdown", "pathstar"}));
  if (block.has("path")) task.path = block.string("path");
  if (task.kind == tasks::TaskKind::kSudoku) {
    task.sudoku.size = static_cast<int>(block.integer("size", 4));
    if (task.sudoku.size != 4 && task.sudoku.size != 9) block.fail_at("size", "expected 4 or 9");
    task.sudoku.givens = static_cast<int>(
        block.integer("givens", tasks::default_sudoku_givens(task.sudoku.size), task.sudoku.size == 4 ? 4 : 17,
                      task.sudoku.size * task.sudoku.size));
  } else if (task.kind == tasks::TaskKind::kCountdown) {
    task.countdown.numbers = static_cast<int>(block.integer("numbers", 4, 3, 5));
    const std::string split = block.choice("split", {"in_distribution", "held_out"}, std::string("in_distribution"));
    task.countdown.split =
        split == "held_out" ? tasks::CountdownSplit::kHeldOut : tasks::CountdownSplit::kInDistribution;
  } else {
    task.pathstar.degree = static_cast<int>(block.integer("degree", 3, 2, 10));
    task.pathstar.length = static_cast<int>(block.integer("length", 4, 1, 20));
    task.pathstar.nodes = static_cast<int>(block.integer("nodes", 20, 1 + task.pathstar.degree * task.pathstar.length, 1000));
    const std::string split = block.choice("split", {"in_distribution", "held_out"}, std::string("held_out"));
    task.pathstar.split =
        split == "held_out" ? tasks::PathStarSplit::kHeldOut : tasks::PathStarSplit::kInDistribution;
  }
  task.num_examples = block.integer("num_examples", 100, 1);
  task.seed = static_cast<uint64_t>(block.integer("seed", 1, 0));
  const std::string default_metric = task.kind == tasks::TaskKind::kSudoku      ? "sudoku_valid"
                                     : task.kind == tasks::TaskKind::kCountdown ? "countdown_equations"
                                                                                : "pathstar_exact";
  const std::string metric = block.choice(
      "metric", {"sudoku_exact", "sudoku_valid", "countdown_equations", "countdown_numbers", "pathstar_exact"},
      default_metric);
  task.metric = tasks::parse_metric(metric);
  if (tasks::metric_task(task.metric) != task.kind)
    block.fail_at("metric", "metric '" + metric + "' does not score " + tasks::task_kind_name(task.kind));
  task.format = block.choice("format", {"plain", "dream_fewshot"}, std::string("plain")) == "plain"
                    ? PromptFormat::kPlain
                    : PromptFormat::kDreamFewShot;
  if (task.kind == tasks::TaskKind::kPathStar && task.format != PromptFormat::kPlain)
    block.fail_at("format", "the path-star task has only the plain format");
  task.gen_length = block.optional_integer("gen_length", 1);
  block.finish();
  return task;
}

}  // namespace

ModelSpec parse_model(const std::string& name, const YamlReader& block) {
  ModelSpec model;
  model.name = name;
  if (block.has("path")) model.path = block.string("path");
  if (block.has("train")) model.train = parse_training_spec(block.child("train"));
  if (block.has("from")) model.from = block.string("from");
  const int sources = (model.path ? 1 : 0) + (model.train ? 1 : 0) + (model.from ? 1 : 0);
  if (sources != 1)
    block.fail_at(model.path ? "train" : "path",
                  "a model needs exactly one of path (a checkpoint), train (a block) or from (a model to quantize)");
  if (block.has("quantize")) model.quantize = parse_quantize_spec(block.child("quantize"));
  if (model.from && !model.quantize) block.fail_at("from", "a model given by from: needs a quantize: block");
  model.tokenizer = block.string("tokenizer", "auto");
  block.finish();
  return model;
}

namespace {

constexpr int64_t kMaxPrefixCacheMb = int64_t{1} << 20;

PrefixCacheSpec parse_prefix_cache(const YamlReader& block) {
  PrefixCacheSpec cache;
  cache.memory_mb = block.integer("memory_mb", cache.memory_mb, 0);
  if (cache.memory_mb > kMaxPrefixCacheMb)
    block.fail_at("memory_mb", "expected at most " + std::to_string(kMaxPrefixCacheMb) + " (1 TiB), got " +
                                   std::to_string(cache.memory_mb));
  if (block.has("disk_path")) {
    cache.disk_path = block.string("disk_path");
    if (cache.disk_path->empty()) block.fail_at("disk_path", "expected a directory path, got an empty string");
  }
  cache.chunk_tokens = block.integer("chunk_tokens", cache.chunk_tokens, 1, 65536);
  block.finish();
  return cache;
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// The decoder `block` (the `index`-th) at every point of its sweep axes, each parsed and validated
// once; an invalid point names the key path and the point's values.
std::vector<SweepPoint> sweep_points(const YamlReader& block, size_t index, const DecoderSpec& written,
                                     const std::vector<SweepAxis>& sweep) {
  std::vector<const SweepAxis*> axes;
  for (const auto& axis : sweep)
    if (axis.decoder == written.name) axes.push_back(&axis);
  if (axes.empty()) return {SweepPoint{written, {}}};
  std::vector<SweepPoint> points;
  std::vector<size_t> value_index(axes.size(), 0);  // an odometer over the axes' values
  while (true) {
    // The block's own entries (the same nodes, so errors keep their lines) with the point's values.
    YAML::Node node(YAML::NodeType::Map);
    for (const auto& entry : block.node()) node[entry.first.Scalar()] = entry.second;
    std::map<std::string, std::string> swept;
    std::string point_text;
    for (size_t a = 0; a < axes.size(); ++a) {
      const YAML::Node& value = axes[a]->values[value_index[a]];
      node[axes[a]->key] = value;
      swept[axes[a]->key] = scalar_text(value);
      point_text += (point_text.empty() ? "" : ", ") + axes[a]->key + "=" + scalar_text(value);
    }
    try {
      points.push_back(
          {parse_decoder_spec(YamlReader(node, "decoders[" + std::to_string(index) + "]", block.file())), swept});
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (sweep point " + written.name + ": " + point_text + ")");
    }
    size_t a = 0;
    while (a < axes.size() && ++value_index[a] == axes[a]->values.size()) value_index[a++] = 0;
    if (a == axes.size()) break;
  }
  return points;
}

}  // namespace

std::string stable_hash(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

std::string TaskSpec::label() const {
  if (path) return "file:" + std::filesystem::path(*path).filename().string();
  if (kind == tasks::TaskKind::kSudoku)
    return "sudoku" + std::to_string(sudoku.size) + "x" + std::to_string(sudoku.size) + "-g" +
           std::to_string(sudoku.givens);
  if (kind == tasks::TaskKind::kPathStar)
    return "pathstar-d" + std::to_string(pathstar.degree) + "-l" + std::to_string(pathstar.length) + "-n" +
           std::to_string(pathstar.nodes) + (pathstar.split == tasks::PathStarSplit::kHeldOut ? "-heldout" : "");
  return "countdown" + std::to_string(countdown.numbers) +
         (countdown.split == tasks::CountdownSplit::kHeldOut ? "-heldout" : "");
}

std::string RunSpec::label() const {
  std::string text = decoder.name;
  for (const auto& [key, value] : swept) text += " " + key + "=" + value;
  return text;
}

ExperimentSpec parse_experiment_spec(const std::string& yaml_text, const std::string& file) {
  YamlReader root = YamlReader::load_string(yaml_text, file);
  ExperimentSpec spec;
  spec.file = file;
  spec.name = root.string("name");
  for (char c : spec.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      root.fail_at("name", "use letters, digits, '-' and '_' only (it names the output folder)");
  spec.output_dir = root.string("output_dir", "results/" + spec.name);
  spec.cache_dir = root.string("cache_dir", "runs/models");
  spec.device = root.string("device", "cpu");
  spec.dtype = root.choice("dtype", {"float32", "bfloat16"}, std::string("float32"));
  spec.threads = static_cast<int>(root.integer("threads", 0, 0, 1024));
  spec.train_jobs = static_cast<int>(root.integer("train_jobs", 1, 1, 64));
  spec.batch_size = root.integer("batch_size", 16, 1, 65536);
  spec.record_traces = root.boolean("record_traces", false);
  if (root.node()["prefix_cache"].IsDefined()) {
    if (!root.has("prefix_cache"))
      root.fail_at("prefix_cache", "expected a mapping of keys (write {} for the defaults), got nothing");
    spec.prefix_cache = parse_prefix_cache(root.child("prefix_cache"));
  }
  if (root.has("seeds")) {
    spec.seeds.clear();
    for (int64_t seed : root.integer_list("seeds")) {
      if (seed < 0) root.fail_at("seeds", "seeds must be >= 0");
      spec.seeds.push_back(static_cast<uint64_t>(seed));
    }
    if (spec.seeds.empty()) root.fail_at("seeds", "expected at least one seed");
  }
  spec.task = parse_task(root.child("task"));

  YamlReader models = root.child("models");
  for (const auto& name : models.keys()) spec.models.emplace(name, parse_model(name, models.child(name)));
  models.finish();
  // precision: auto is settled here, where the device is known, so cache keys name what was trained.
  const bool on_cuda = spec.device.rfind("cuda", 0) == 0;
  for (auto& [name, model] : spec.models)
    if (model.train) model.train->precision = task_training::resolve_precision(model.train->precision, on_cuda);
  for (const auto& [name, model] : spec.models)
    if (model.train && model.train->init_from && !spec.models.count(*model.train->init_from))
      root.fail_at("models", "model '" + name + "' starts from unknown model '" + *model.train->init_from + "'");
  for (const auto& [name, model] : spec.models) {
    if (!model.from) continue;
    const auto base = spec.models.find(*model.from);
    if (base == spec.models.end())
      root.fail_at("models", "model '" + name + "' is quantized from unknown model '" + *model.from + "'");
    if (base->second.from || base->second.quantize)
      root.fail_at("models", "model '" + name + "' is quantized from '" + *model.from +
                                 "', which is quantized itself; name its unquantized model");
  }

  const auto decoder_blocks = root.children("decoders");
  if (decoder_blocks.empty()) root.fail_at("decoders", "expected a list with at least one decoder");
  for (const auto& block : decoder_blocks) {
    DecoderSpec decoder = parse_decoder_spec(block);
    for (const auto& other : spec.decoders)
      if (other.name == decoder.name) block.fail_at("name", "decoder name '" + decoder.name + "' is used twice");
    const std::vector<std::string> model_names = decoder.model_names();
    for (size_t m = 0; m < model_names.size(); ++m)
      if (!spec.models.count(model_names[m]))
        block.fail_at(m == 0 ? "model" : "draft_model", "no model named '" + model_names[m] + "' in models:");
    spec.decoders.push_back(std::move(decoder));
  }

  if (root.has("sweep")) {
    YamlReader sweep = root.child("sweep");
    for (const auto& key : sweep.keys()) {
      const auto dot = key.find('.');
      YAML::Node values = sweep.node()[key];
      if (dot == std::string::npos) sweep.fail_at(key, "sweep keys are <decoder name>.<setting>, e.g. diffusion.steps");
      SweepAxis axis{key.substr(0, dot), key.substr(dot + 1), {}};
      const DecoderSpec* swept = nullptr;
      for (const auto& decoder : spec.decoders)
        if (decoder.name == axis.decoder) swept = &decoder;
      if (!swept) sweep.fail_at(key, "no decoder named '" + axis.decoder + "'");
      const DecoderKey* setting = find_decoder_key(axis.key);
      if (!setting || !key_applies_to(*setting, swept->type()))
        sweep.fail_at(
            key, "'" + axis.key + "' is not a setting of " + swept->type() + " decoders (docs/decoders.md lists them)");
      if (!values.IsSequence() || values.size() == 0) sweep.fail_at(key, "expected a non-empty list of values");
      for (const auto& value : values) axis.values.push_back(value);
      spec.sweep.push_back(std::move(axis));
      sweep.allow(key);
    }
  }
  root.allow("sweep");
  root.finish();

  // The grid is expanded (and every point validated) up front, so its size is bounded before that.
  const auto capped_product = [](size_t a, size_t b) {
    size_t product = 0;
    return __builtin_mul_overflow(a, b, &product) || product > kMaxRuns ? kMaxRuns + 1 : product;
  };
  size_t runs = 0;
  for (const auto& decoder : spec.decoders) {
    size_t grid = std::min(spec.seeds.size(), kMaxRuns + 1);
    for (const auto& axis : spec.sweep)
      if (axis.decoder == decoder.name) grid = capped_product(grid, axis.values.size());
    runs += grid;
    if (runs > kMaxRuns)
      root.fail_at(root.has("sweep") ? "sweep" : "seeds", "the grid has more than " + std::to_string(kMaxRuns) +
                                                           " runs (decoders x sweep values x seeds); split the experiment");
  }

  for (size_t d = 0; d < spec.decoders.size(); ++d)
    for (SweepPoint& point : sweep_points(decoder_blocks[d], d, spec.decoders[d], spec.sweep))
      spec.points.push_back(std::move(point));

  YAML::Emitter emitter;
  emitter << root.node();
  spec.resolved_yaml = emitter.c_str();
  spec.resolved_yaml += "\n";
  return spec;
}

ExperimentSpec load_experiment_spec(const std::string& file) {
  require_regular_file(file);  // a directory or FIFO is refused by type, never read
  std::ifstream in(file);
  check(in.good(), file, ": cannot read the experiment file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_experiment_spec(text.str(), file);
}

std::vector<RunSpec> expand_runs(const ExperimentSpec& spec) {
  std::vector<RunSpec> runs;
  for (const SweepPoint& point : spec.points) {
    const DecoderSpec& decoder = point.decoder;
    for (uint64_t seed : spec.seeds) {
      RunSpec run{decoder, point.swept, seed, ""};
      std::ostringstream identity;
      identity << spec.task.label() << "|" << spec.task.num_examples << "|" << spec.task.seed << "|"
               << tasks::metric_name(spec.task.metric) << "|" << spec.dtype << "|seed=" << seed;
      identity << "|type=" << decoder.type() << "|model=" << decoder.model;
      for (const auto& [key, value] : decoder.describe()) identity << "|" << key << "=" << value;
      const auto& model = spec.models.at(decoder.model);
      const auto& weights = model.from ? spec.models.at(*model.from) : model;
      identity << "|weights=" << (weights.path ? *weights.path : weights.train->canonical_text());
      // Added for quantized models only, so the run ids of earlier experiments stay the same.
      if (model.quantize) identity << "|quantize=" << model.quantize->canonical_text();
      run.run_id = decoder.name + "-" + stable_hash(identity.str()).substr(0, 12);
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

}  // namespace stepwise::runner
