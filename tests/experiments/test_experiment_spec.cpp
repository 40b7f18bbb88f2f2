// Experiment files: a valid spec parses with its defaults; every kind of invalid input fails before
// any work with the file, line and key path; sweeps expand into the expected grid with stable run ids;
// the prefix_cache block and the request_order decoder key (also swept) parse strictly.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "experiments/runner/experiment_spec.h"

namespace stepwise::runner {
namespace {

const char* kValid = R"(name: demo
task:
  type: sudoku
  size: 4
  givens: 8
  num_examples: 50
models:
  ar:
    train:
      objective: ar
      steps: 10
  mdm:
    path: some/checkpoint
decoders:
  - name: greedy
    type: ar
    model: ar
  - name: diffusion
    type: diffusion
    model: mdm
    steps: 16
    alg: entropy
sweep:
  diffusion.steps: [1, 2, 4]
  diffusion.threshold: [0.5, 0.9]
seeds: [0, 1]
)";

std::string error_of(const std::string& text) {
  try {
    auto spec = parse_experiment_spec(text, "exp.yaml");
    expand_runs(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// What precision: auto stands for on this machine's CPU, from CPUID (a CPU with AVX512-BF16 runs
// bfloat16 matmuls natively).
std::string native_cpu_precision() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") ? "mixed-bf16" : "float32";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ExperimentSpec, ValidSpecParsesWithDefaults) {
  ExperimentSpec spec = parse_experiment_spec(kValid, "exp.yaml");
  EXPECT_EQ(spec.name, "demo");
  EXPECT_EQ(spec.output_dir, "results/demo");
  EXPECT_EQ(spec.task.sudoku.givens, 8);
  EXPECT_EQ(spec.task.num_examples, 50);
  EXPECT_EQ(tasks::metric_name(spec.task.metric), "sudoku_valid");
  ASSERT_EQ(spec.models.size(), 2u);
  EXPECT_TRUE(spec.models.at("ar").train.has_value());
  EXPECT_EQ(spec.models.at("ar").train->steps, 10);
  EXPECT_EQ(*spec.models.at("mdm").path, "some/checkpoint");
  ASSERT_EQ(spec.decoders.size(), 2u);
  const auto& diffusion = std::get<DiffusionConfig>(spec.decoders[1].settings);
  EXPECT_EQ(diffusion.steps, 16);
  EXPECT_EQ(diffusion.selection, Selection::kEntropy);
  EXPECT_EQ(diffusion.schedule, Schedule::kDreamTimeGrid);
  EXPECT_EQ(spec.seeds, (std::vector<uint64_t>{0, 1}));
  EXPECT_FALSE(spec.prefix_cache.has_value());
  EXPECT_EQ(spec.decoders[0].request_order, RequestOrder::kFifo);
  EXPECT_EQ(spec.decoders[0].describe().count("request_order"), 0u) << "the default stays out of run ids";
}

// The cache key of a train: block keeps the text it had before the block gained keys: a default AR
// block of 10 steps, written out by hand in that format (its precision the one auto settles on here).
TEST(ExperimentSpec, TrainingBlockCacheKeyIsStable) {
  ExperimentSpec spec = parse_experiment_spec(kValid, "exp.yaml");
  EXPECT_EQ(spec.models.at("ar").train->canonical_text(),
            "objective=ar;form=paper;T=20;preset=small;layers=-;hidden=-;heads=-;kv_heads=-;intermediate=-;"
            "steps=10;batch=64;lr=0.001;warmup=1;wd=0.01;clip=1;examples=20000;data_seed=12345;seed=0;"
            "precision=" + native_cpu_precision() + ";init_from=-");
  // Keys that shape the weights extend it only when they leave their default; validation keys never do.
  ExperimentSpec changed = parse_experiment_spec(
      replace(kValid, "      steps: 10\n",
              "      steps: 10\n      layout: llama\n      min_lr_ratio: 0.5\n      validate_every: 3\n"
              "      validation_examples: 8\n"),
      "exp.yaml");
  EXPECT_EQ(changed.models.at("ar").train->canonical_text(),
            spec.models.at("ar").train->canonical_text() + ";layout=llama;min_lr_ratio=0.5");
  EXPECT_EQ(changed.models.at("ar").train->validation_interval(), 3);
  EXPECT_EQ(spec.models.at("ar").train->validation_interval(), 2);  // a quarter of 10 steps
}

// precision: auto (the default) is settled when the file is read: mixed-bf16 on a CUDA device or a CPU
// with AVX512-BF16, float32 elsewhere; a name given explicitly is kept on every device.
TEST(ExperimentSpec, TrainingPrecisionAutoIsSettledByTheDevice) {
  auto precision_of = [](const std::string& text) {
    return parse_experiment_spec(text, "exp.yaml").models.at("ar").train->precision;
  };
  const std::string with_auto = replace(kValid, "      steps: 10\n", "      steps: 10\n      precision: auto\n");
  EXPECT_EQ(precision_of(kValid), native_cpu_precision());
  EXPECT_EQ(precision_of(with_auto), native_cpu_precision());
  EXPECT_EQ(precision_of("device: cuda\n" + std::string(kValid)), "mixed-bf16");
  EXPECT_EQ(precision_of("device: cuda:1\n" + with_auto), "mixed-bf16");
  for (const std::string name : {"float32", "bfloat16", "mixed-bf16"}) {
    const std::string given = replace(kValid, "      steps: 10\n", "      steps: 10\n      precision: " + name + "\n");
    EXPECT_EQ(precision_of(given), name);
    EXPECT_EQ(precision_of("device: cuda\n" + given), name);
  }
  EXPECT_NE(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      precision: fp16\n")).find("precision"),
            std::string::npos);
}

// The one check of a training spec names the key at its line, for rules that span keys too.
TEST(ExperimentSpec, TrainingBlockRulesNameTheKey) {
  EXPECT_EQ(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      shift_logits: false\n")),
            "exp.yaml:12: models.ar.train.shift_logits: applies to diffusion objectives only");
  EXPECT_EQ(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      warmup_steps: 11\n")),
            "exp.yaml:12: models.ar.train.warmup_steps: must lie in [0, 10], got 11");
  EXPECT_EQ(error_of(replace(kValid, "      objective: ar\n", "      objective: mgdm\n      diffusion_form: llada\n")),
            "exp.yaml:11: models.ar.train.diffusion_form: the mgdm objective is the study's paper form");
  EXPECT_NE(error_of(replace(kValid, "      objective: ar\n", "      objective: ar\n      preset: custom\n"))
                .find("models.ar.train.preset: preset 'custom' needs layers, hidden and heads"),
            std::string::npos);
}

// world_size: the ranks that train a block's model. An integer from 1 to 256 dividing batch_size, named
// at its line; it is no part of the cache key (the ranks train the weights one process does).
TEST(ExperimentSpec, TrainingBlockWorldSize) {
  const ExperimentSpec plain = parse_experiment_spec(kValid, "exp.yaml");
  EXPECT_EQ(plain.models.at("ar").train->world_size, 1);
  const ExperimentSpec two =
      parse_experiment_spec(replace(kValid, "      steps: 10\n", "      steps: 10\n      world_size: 2\n"), "exp.yaml");
  EXPECT_EQ(two.models.at("ar").train->world_size, 2);
  EXPECT_EQ(two.models.at("ar").train->canonical_text(), plain.models.at("ar").train->canonical_text());
  EXPECT_EQ(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      world_size: 3\n")),
            "exp.yaml:12: models.ar.train.world_size: must divide batch_size 64 (each rank trains an equal slice of "
            "every batch), got 3");
  EXPECT_EQ(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      batch_size: 6\n      world_size: 4\n")),
            "exp.yaml:13: models.ar.train.world_size: must divide batch_size 6 (each rank trains an equal slice of "
            "every batch), got 4");
  EXPECT_NE(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      world_size: 0\n"))
                .find("exp.yaml:12: models.ar.train.world_size: expected"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      world_size: 512\n"))
                .find("exp.yaml:12: models.ar.train.world_size: expected"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      world_size: two\n"))
                .find("exp.yaml:12: models.ar.train.world_size: expected"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      world_size: 1.5\n"))
                .find("exp.yaml:12: models.ar.train.world_size: expected"),
            std::string::npos);
}

TEST(ExperimentSpec, SweepExpandsIntoTheGrid) {
  ExperimentSpec spec = parse_experiment_spec(kValid, "exp.yaml");
  std::vector<RunSpec> runs = expand_runs(spec);
  // greedy: 1 point x 2 seeds; diffusion: 3 steps x 2 thresholds x 2 seeds.
  ASSERT_EQ(runs.size(), 2u + 12u);
  std::set<std::string> ids;
  std::multiset<int64_t> steps;
  std::multiset<double> thresholds;
  for (const auto& run : runs) {
    ids.insert(run.run_id);
    if (run.decoder.name != "diffusion") continue;
    const auto& config = std::get<DiffusionConfig>(run.decoder.settings);
    steps.insert(config.steps);
    thresholds.insert(*config.threshold);
    EXPECT_EQ(run.swept.at("steps"), std::to_string(config.steps));
  }
  EXPECT_EQ(ids.size(), runs.size()) << "run ids must be distinct";
  EXPECT_EQ(steps.count(1), 4u);
  EXPECT_EQ(steps.count(16), 0u);
  EXPECT_EQ(thresholds.count(0.9), 6u);
  // Stable across parses.
  std::vector<RunSpec> again = expand_runs(parse_experiment_spec(kValid, "exp.yaml"));
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].run_id, again[i].run_id);
}

TEST(ExperimentSpec, OutOfRangeValueNamesKeyPathAndLine) {
  std::string text = replace(kValid, "    steps: 16\n", "    steps: -4\n");
  EXPECT_EQ(error_of(text), "exp.yaml:21: decoders[1].steps: expected an integer >= 1, got -4");
}

TEST(ExperimentSpec, UnknownKeyIsAnError) {
  EXPECT_EQ(error_of(replace(kValid, "    alg: entropy\n", "    alg: entropy\n    stepz: 3\n")),
            "exp.yaml:23: decoders[1].stepz: unknown key");
  EXPECT_EQ(error_of(replace(kValid, "  givens: 8\n", "  givens: 8\n  colour: red\n")),
            "exp.yaml:6: task.colour: unknown key");
  EXPECT_EQ(error_of(replace(kValid, "      steps: 10\n", "      steps: 10\n      lr: 3\n")),
            "exp.yaml:12: models.ar.train.lr: unknown key");
}

TEST(ExperimentSpec, WrongTypeIsAnError) {
  EXPECT_EQ(error_of(replace(kValid, "  num_examples: 50\n", "  num_examples: many\n")),
            "exp.yaml:6: task.num_examples: expected an integer >= 1, got 'many'");
  EXPECT_EQ(error_of(replace(kValid, "    alg: entropy\n", "    alg: [entropy]\n")),
            "exp.yaml:22: decoders[1].alg: expected a string, got a list");
}

TEST(ExperimentSpec, QuantizeBlocksAreReadStrictlyAndKeyTheRuns) {
  const std::string quantized = replace(kValid, "  mdm:\n", "  w4:\n    from: ar\n    quantize: {bits: 4, group_size: 64, method: autoround, iters: 50}\n  mdm:\n");
  const ExperimentSpec spec = parse_experiment_spec(replace(quantized, "    model: ar\n", "    model: w4\n"), "exp.yaml");
  const ModelSpec& w4 = spec.models.at("w4");
  ASSERT_TRUE(w4.quantize.has_value());
  EXPECT_EQ(*w4.from, "ar");
  EXPECT_EQ(w4.quantize->group_size, 64);
  EXPECT_EQ(w4.quantize->iters, 50);
  EXPECT_EQ(w4.quantize->label(), "w4g64-asym-autoround");
  // The quantization is part of the run identity: the same decoder on the unquantized model differs.
  const ExperimentSpec plain = parse_experiment_spec(quantized, "exp.yaml");
  EXPECT_NE(expand_runs(spec).front().run_id, expand_runs(plain).front().run_id);
  EXPECT_EQ(expand_runs(plain).front().run_id, expand_runs(parse_experiment_spec(kValid, "exp.yaml")).front().run_id);

  auto with_block = [&](const std::string& block) {
    return error_of(replace(kValid, "  mdm:\n", "  w4:\n" + block + "  mdm:\n"));
  };
  EXPECT_NE(with_block("    from: ar\n    quantize: {bits: 3}\n").find("models.w4.quantize.bits: expected 4 or 8, got 3"),
            std::string::npos);
  EXPECT_NE(with_block("    from: ar\n    quantize: {bits: 8}\n").find("8-bit weights are symmetric"), std::string::npos);
  EXPECT_NE(with_block("    from: ar\n    quantize: {bits: 4, iters: 10}\n").find("applies to method autoround only"),
            std::string::npos);
  EXPECT_NE(with_block("    from: ar\n").find("needs a quantize: block"), std::string::npos);
  EXPECT_NE(with_block("    from: nope\n    quantize: {bits: 4}\n").find("quantized from unknown model 'nope'"),
            std::string::npos);
  EXPECT_NE(with_block("    from: ar\n    quantize: {bits: 4, groups: 3}\n").find("groups"), std::string::npos);
}

TEST(ExperimentSpec, BadChoicesAndReferencesAreErrors) {
  EXPECT_NE(error_of(replace(kValid, "    type: ar\n", "    type: beam\n")).find("decoders[0].type: expected one of"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "    model: ar\n", "    model: nope\n")).find("no model named 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "  diffusion.steps: [1, 2, 4]\n", "  diffusion.steps: [1, -2, 4]\n"))
                .find("decoders[1].steps: expected an integer >= 1, got -2"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "  diffusion.steps", "  difusion.steps")).find("no decoder named 'difusion'"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "    path: some/checkpoint\n", "    path: x\n    train: {objective: ar}\n"))
                .find("exactly one of path"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "  type: sudoku\n", "  type: sudoku\n  metric: countdown_numbers\n"))
                .find("does not score sudoku"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kValid) + "  - oops\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(error_of("name: x\n").find("task: required section is missing"), std::string::npos);
}

TEST(ExperimentSpec, DecoderValidationCarriesTheLocation) {
  // origin needs Dream's time grid; the decoders library says why, the spec says where.
  std::string text = replace(kValid, "    alg: entropy\n", "    alg: origin\n    schedule: cosine\n");
  const std::string message = error_of(text);
  EXPECT_EQ(message.rfind("exp.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find("decoders[1]"), std::string::npos) << message;
  EXPECT_NE(message.find("origin"), std::string::npos) << message;
}

// ---- prefix_cache ------------------------------------------------------------------------------

const char* kPrefixCache = "prefix_cache:\n  memory_mb: 16\n  disk_path: kv/store\n  chunk_tokens: 4\n";

std::string with_prefix_cache(const std::string& block) {
  return replace(kValid, "name: demo\n", "name: demo\n" + block);
}

TEST(ExperimentSpec, PrefixCacheParses) {
  ExperimentSpec spec = parse_experiment_spec(with_prefix_cache(kPrefixCache), "exp.yaml");
  ASSERT_TRUE(spec.prefix_cache.has_value());
  EXPECT_EQ(spec.prefix_cache->memory_mb, 16);
  EXPECT_EQ(spec.prefix_cache->disk_path, std::optional<std::string>("kv/store"));
  EXPECT_EQ(spec.prefix_cache->chunk_tokens, 4);
  EXPECT_NE(spec.resolved_yaml.find("prefix_cache"), std::string::npos);

  ExperimentSpec defaults = parse_experiment_spec(with_prefix_cache("prefix_cache: {}\n"), "exp.yaml");
  ASSERT_TRUE(defaults.prefix_cache.has_value());
  EXPECT_EQ(defaults.prefix_cache->memory_mb, 256);
  EXPECT_FALSE(defaults.prefix_cache->disk_path.has_value());
  EXPECT_EQ(defaults.prefix_cache->chunk_tokens, 32);
  EXPECT_EQ(
      parse_experiment_spec(with_prefix_cache("prefix_cache: {memory_mb: 0}\n"), "exp.yaml").prefix_cache->memory_mb,
      0);

  // The store changes no output: run ids are those of the same spec without it.
  const auto with = expand_runs(spec);
  const auto without = expand_runs(parse_experiment_spec(kValid, "exp.yaml"));
  ASSERT_EQ(with.size(), without.size());
  for (size_t i = 0; i < with.size(); ++i) EXPECT_EQ(with[i].run_id, without[i].run_id);
}

TEST(ExperimentSpec, PrefixCacheErrorsNameKeyPathAndLine) {
  EXPECT_EQ(error_of(with_prefix_cache(std::string(kPrefixCache) + "  colour: red\n")),
            "exp.yaml:6: prefix_cache.colour: unknown key");
  EXPECT_EQ(error_of(with_prefix_cache(replace(kPrefixCache, "memory_mb: 16", "memory_mb: -1"))),
            "exp.yaml:3: prefix_cache.memory_mb: expected an integer >= 0, got -1");
  EXPECT_EQ(error_of(with_prefix_cache(replace(kPrefixCache, "memory_mb: 16", "memory_mb: 2000000"))),
            "exp.yaml:3: prefix_cache.memory_mb: expected at most 1048576 (1 TiB), got 2000000");
  EXPECT_EQ(error_of(with_prefix_cache(replace(kPrefixCache, "chunk_tokens: 4", "chunk_tokens: 0"))),
            "exp.yaml:5: prefix_cache.chunk_tokens: expected an integer in [1, 65536], got 0");
  EXPECT_EQ(error_of(with_prefix_cache(replace(kPrefixCache, "memory_mb: 16", "memory_mb: lots"))),
            "exp.yaml:3: prefix_cache.memory_mb: expected an integer >= 0, got 'lots'");
  EXPECT_EQ(error_of(with_prefix_cache(replace(kPrefixCache, "disk_path: kv/store", "disk_path: [kv]"))),
            "exp.yaml:4: prefix_cache.disk_path: expected a string, got a list");
  EXPECT_EQ(error_of(with_prefix_cache(replace(kPrefixCache, "disk_path: kv/store", "disk_path: ''"))),
            "exp.yaml:4: prefix_cache.disk_path: expected a directory path, got an empty string");
  EXPECT_EQ(error_of(with_prefix_cache("prefix_cache: 5\n")),
            "exp.yaml:2: prefix_cache: expected a mapping of keys, got '5'");
  EXPECT_EQ(error_of(with_prefix_cache("prefix_cache:\n")),
            "exp.yaml:2: prefix_cache: expected a mapping of keys (write {} for the defaults), got nothing");
}

// ---- request_order -----------------------------------------------------------------------------

TEST(ExperimentSpec, RequestOrderIsADecoderKeyOfEveryType) {
  std::string text = replace(kValid, "    model: ar\n", "    model: ar\n    request_order: shortest_prefill_first\n");
  text = replace(text, "    alg: entropy\n", "    alg: entropy\n    request_order: fifo\n");
  ExperimentSpec spec = parse_experiment_spec(text, "exp.yaml");
  EXPECT_EQ(spec.decoders[0].request_order, RequestOrder::kShortestPrefillFirst);
  EXPECT_EQ(spec.decoders[0].describe().at("request_order"), "shortest_prefill_first");
  EXPECT_EQ(spec.decoders[1].request_order, RequestOrder::kFifo);
  EXPECT_EQ(spec.decoders[1].describe().count("request_order"), 0u);
  // fifo written out is the default: same run ids as the spec without the key.
  const auto runs = expand_runs(spec);
  const auto plain = expand_runs(parse_experiment_spec(kValid, "exp.yaml"));
  ASSERT_EQ(runs.size(), plain.size());
  EXPECT_NE(runs[0].run_id, plain[0].run_id);
  EXPECT_EQ(runs.back().run_id, plain.back().run_id);

  EXPECT_EQ(error_of(replace(kValid, "    model: ar\n", "    model: ar\n    request_order: lifo\n")),
            "exp.yaml:18: decoders[0].request_order: expected one of fifo | shortest_prefill_first, got 'lifo'");
  EXPECT_EQ(error_of(replace(kValid, "    model: ar\n", "    model: ar\n    request_order: [fifo]\n")),
            "exp.yaml:18: decoders[0].request_order: expected a string, got a list");
}

TEST(ExperimentSpec, RequestOrderSweeps) {
  std::string swept = replace(kValid, "seeds: [0, 1]\n", "seeds: [0]\n");
  swept = replace(swept, "sweep:\n", "sweep:\n  greedy.request_order: [fifo, shortest_prefill_first]\n");
  const auto runs = expand_runs(parse_experiment_spec(swept, "exp.yaml"));
  std::vector<const RunSpec*> greedy;
  for (const auto& run : runs)
    if (run.decoder.name == "greedy") greedy.push_back(&run);
  ASSERT_EQ(greedy.size(), 2u);
  EXPECT_EQ(greedy[0]->decoder.request_order, RequestOrder::kFifo);
  EXPECT_EQ(greedy[1]->decoder.request_order, RequestOrder::kShortestPrefillFirst);
  EXPECT_EQ(greedy[0]->swept.at("request_order"), "fifo");
  EXPECT_EQ(greedy[1]->swept.at("request_order"), "shortest_prefill_first");
  EXPECT_EQ(greedy[1]->label(), "greedy request_order=shortest_prefill_first");
  EXPECT_NE(greedy[0]->run_id, greedy[1]->run_id);
  // The fifo point keeps the run id of the unswept decoder.
  const auto plain = expand_runs(parse_experiment_spec(replace(kValid, "seeds: [0, 1]\n", "seeds: [0]\n"), "exp.yaml"));
  EXPECT_EQ(greedy[0]->run_id, plain[0].run_id);

  const std::string bad = replace(swept, "[fifo, shortest_prefill_first]", "[fifo, random]");
  EXPECT_NE(
      error_of(bad).find("decoders[0].request_order: expected one of fifo | shortest_prefill_first, got 'random'"),
      std::string::npos)
      << error_of(bad);
}

}  // namespace
}  // namespace stepwise::runner

namespace stepwise::runner {
namespace {

// Every experiment shipped in configs/ parses and expands (paths to data and checkpoints are only
// opened when an experiment runs).
TEST(ShippedConfigs, EveryConfigParsesAndExpands) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(STEPWISE_CONFIGS)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    ExperimentSpec spec;
    ASSERT_NO_THROW(spec = load_experiment_spec(entry.path().string()));
    EXPECT_FALSE(spec.decoders.empty());
    EXPECT_FALSE(expand_runs(spec).empty());
    ++count;
  }
  EXPECT_GE(count, 10);
}

TEST(ShippedConfigs, PrefixCacheConfigSweepsTheRequestOrder) {
  const ExperimentSpec spec = load_experiment_spec(std::string(STEPWISE_CONFIGS) + "/pretrained_qwen.yaml");
  ASSERT_TRUE(spec.prefix_cache.has_value());
  int orders = 0;
  for (const RunSpec& run : expand_runs(spec)) orders += run.decoder.name == "greedy" ? 1 : 0;
  EXPECT_EQ(orders, 2);
}

}  // namespace
}  // namespace stepwise::runner
