// The one decoder description: `stepwise generate`'s flags and an experiment file's YAML block with the
// same settings give the same DecoderSpec for every strategy (per-key flags and --set alike), both
// sides share their defaults, the deprecated command-line names map onto the new ones with a one-line
// note each, --set refuses keys it does not know naming them, sweep points are validated with errors
// naming the key path, and run ids keep the values older result files were written with.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "experiments/cli/decoder_flags.h"
#include "experiments/runner/builtin_decoders.h"
#include "experiments/runner/experiment_spec.h"

namespace stepwise::runner {
namespace {

DecoderSpec from_yaml(const std::string& block_text) {
  return parse_decoder_spec(YamlReader::load_string(block_text, "block.yaml"));
}

struct FlagResult {
  DecoderSpec spec;
  std::string notes;  // deprecation notes
};

FlagResult from_flags(std::vector<std::string> args) {
  ArgParser parser("test", "decoder flags");
  parser.add_option("max-new-tokens", "N", "generation length");
  cli::add_decoder_flags(parser);
  EXPECT_TRUE(parser.parse(args));
  std::ostringstream notes;
  DecoderSpec spec = cli::decoder_spec_from_flags(parser, notes);
  return {spec, notes.str()};
}

std::string flag_error(const std::vector<std::string>& args) {
  try {
    from_flags(args);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_same_fields(const SamplingParams& a, const SamplingParams& b) {
  EXPECT_EQ(a.temperature, b.temperature);
  EXPECT_EQ(a.top_k, b.top_k);
  EXPECT_EQ(a.top_p, b.top_p);
}

void expect_same_fixed(const std::vector<FixedToken>& a, const std::vector<FixedToken>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].position, b[i].position);
    EXPECT_EQ(a[i].token, b[i].token);
  }
}

void expect_same_fields(const ArConfig& a, const ArConfig& b) {
  expect_same_fields(a.sampling, b.sampling);
  EXPECT_EQ(a.use_cache, b.use_cache);
  EXPECT_EQ(a.stop_ids, b.stop_ids);
  EXPECT_EQ(a.stop_on_eos, b.stop_on_eos);
}

void expect_same_fields(const SpeculativeSettings& a, const SpeculativeSettings& b) {
  expect_same_fields(a.config.sampling, b.config.sampling);
  EXPECT_EQ(a.config.draft_length, b.config.draft_length);
  EXPECT_EQ(a.config.adaptive, b.config.adaptive);
  EXPECT_EQ(a.config.stop_ids, b.config.stop_ids);
  EXPECT_EQ(a.config.stop_on_eos, b.config.stop_on_eos);
  EXPECT_EQ(a.draft_model, b.draft_model);
  EXPECT_EQ(a.draft_steps, b.draft_steps);
  ASSERT_EQ(a.prompt_lookup.has_value(), b.prompt_lookup.has_value());
  if (a.prompt_lookup) {
    EXPECT_EQ(a.prompt_lookup->max_ngram, b.prompt_lookup->max_ngram);
    EXPECT_EQ(a.prompt_lookup->min_ngram, b.prompt_lookup->min_ngram);
  }
}

void expect_same_fields(const DiffusionConfig& a, const DiffusionConfig& b) {
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.selection, b.selection);
  EXPECT_EQ(a.eps, b.eps);
  EXPECT_EQ(a.block_length, b.block_length);
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.alg_temp, b.alg_temp);
  EXPECT_EQ(a.cfg_scale, b.cfg_scale);
  EXPECT_EQ(a.cache, b.cache);
  expect_same_fields(a.sampling, b.sampling);
  expect_same_fixed(a.fixed, b.fixed);
}

void expect_same_fields(const BlockDiffusionConfig& a, const BlockDiffusionConfig& b) {
  EXPECT_EQ(a.block_length, b.block_length);
  EXPECT_EQ(a.sub_block_length, b.sub_block_length);
  EXPECT_EQ(a.steps_per_block, b.steps_per_block);
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.selection, b.selection);
  EXPECT_EQ(a.eps, b.eps);
  EXPECT_EQ(a.alg_temp, b.alg_temp);
  EXPECT_EQ(a.cache, b.cache);
  expect_same_fields(a.sampling, b.sampling);
}

void expect_same_fields(const RemaskingConfig& a, const RemaskingConfig& b) {
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.noise_scale, b.noise_scale);
  expect_same_fixed(a.fixed, b.fixed);
}

// Every field of the two specs, not only what describe() prints.
void expect_same_spec(const DecoderSpec& a, const DecoderSpec& b) {
  EXPECT_EQ(a.type(), b.type());
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.gen_length, b.gen_length);
  EXPECT_EQ(a.request_order, b.request_order);
  EXPECT_EQ(a.describe(), b.describe());
  ASSERT_EQ(a.settings.index(), b.settings.index());
  std::visit(
      [&](const auto& settings) {
        expect_same_fields(settings, std::get<std::decay_t<decltype(settings)>>(b.settings));
      },
      a.settings);
}

// name and model as the command line sets them.
std::string block(const std::string& type, const std::string& settings) {
  return "name: " + type + "\ntype: " + type + "\nmodel: " + cli::kCliModel + "\n" + settings;
}

struct SameSettings {
  std::string yaml;                    // the block's settings
  std::vector<std::string> flags;      // per-key flags
  std::vector<std::string> set_flags;  // the same as --set key=value
};

TEST(DecoderSpec, CommandLineAndYamlGiveTheSameSpecForEveryStrategy) {
  const std::vector<std::pair<std::string, SameSettings>> cases{
      {"ar",
       {"temperature: 0.7\ntop_k: 20\ntop_p: 0.9\nuse_cache: false\nstop_ids: [5, 6]\nstop_on_eos: false\ngen_length: "
        "12\n",
        {"--temperature", "0.7", "--top-k", "20", "--top-p", "0.9", "--no-use-cache", "--stop-ids", "5,6",
         "--no-stop-on-eos", "--gen-length", "12"},
        {"--set", "temperature=0.7", "--set", "top_k=20", "--set", "top_p=0.9", "--set", "use_cache=false", "--set",
         "stop_ids=[5, 6]", "--set", "stop_on_eos=false", "--set", "gen_length=12"}}},
      {"speculative",
       {"draft_ngram: 3\ndraft_ngram_min: 2\ndraft_length: 6\nadaptive: true\ntemperature: 0.5\n",
        {"--draft-ngram", "3", "--draft-ngram-min", "2", "--draft-length", "6", "--adaptive", "--temperature", "0.5"},
        {"--set", "draft_ngram=3", "--set", "draft_ngram_min=2", "--set", "draft_length=6", "--set", "adaptive=true",
         "--set", "temperature=0.5"}}},
      {"speculative",
       {"draft_model: some/draft\nstop_ids: [2]\n",
        {"--draft-model", "some/draft", "--stop-ids", "2"},
        {"--set", "draft_model=some/draft", "--set", "stop_ids=2"}}},
      {"speculative",
       {"draft_model: some/diffusion\ndraft_steps: 2\ndraft_length: 8\n",
        {"--draft-model", "some/diffusion", "--draft-steps", "2", "--draft-length", "8"},
        {"--set", "draft_model=some/diffusion", "--set", "draft_steps=2", "--set", "draft_length=8"}}},
      {"block_diffusion",
       {"block_length: 8\nsub_block_length: 4\nthreshold: 0.9\nalg: maskgit_plus\ncache: dual\ntemperature: 0.3\n",
        {"--block-length", "8", "--sub-block-length", "4", "--threshold", "0.9", "--alg", "maskgit_plus", "--cache",
         "dual", "--temperature", "0.3"},
        {"--set", "block_length=8", "--set", "sub_block_length=4", "--set", "threshold=0.9", "--set",
         "alg=maskgit_plus", "--set", "cache=dual", "--set", "temperature=0.3"}}},
      {"block_diffusion",
       {"block_length: 4\nsteps_per_block: 4\nalg: low_confidence\nschedule: cosine\ncache: none\n",
        {"--block-length", "4", "--steps-per-block", "4", "--alg", "low_confidence", "--schedule", "cosine", "--cache",
         "none"},
        {"--set", "block_length=4", "--set", "steps_per_block=4", "--set", "alg=low_confidence", "--set",
         "schedule=cosine", "--set", "cache=none"}}},
      {"diffusion",
       {"steps: 8\nalg: maskgit_plus\nschedule: cosine\neps: 0.01\nblock_length: 4\nalg_temp: 0.5\ncfg_scale: 1.5\n"
        "cache: prefix\ntemperature: 0.2\ntop_p: 0.95\nfixed: [{position: 0, token: 7}, {position: 3, token: 9}]\n",
        {"--steps",        "8",   "--alg",      "maskgit_plus", "--schedule",  "cosine", "--eps",   "0.01",
         "--block-length", "4",   "--alg-temp", "0.5",          "--cfg-scale", "1.5",    "--cache", "prefix",
         "--temperature",  "0.2", "--top-p",    "0.95",         "--fixed",     "0:7,3:9"},
        {"--set", "steps=8",
         "--set", "alg=maskgit_plus",
         "--set", "schedule=cosine",
         "--set", "eps=0.01",
         "--set", "block_length=4",
         "--set", "alg_temp=0.5",
         "--set", "cfg_scale=1.5",
         "--set", "cache=prefix",
         "--set", "temperature=0.2",
         "--set", "top_p=0.95",
         "--set", "fixed=[{position: 0, token: 7}, {position: 3, token: 9}]"}}},
      {"diffusion",
       {"alg: low_confidence\nthreshold: 0.9\nblock_length: 8\ncache: dual\n",
        {"--alg", "low_confidence", "--threshold", "0.9", "--block-length", "8", "--cache", "dual"},
        {"--set", "alg=low_confidence", "--set", "threshold=0.9", "--set", "block_length=8", "--set", "cache=dual"}}},
      {"remasking",
       {"steps: 12\nschedule: cosine\nnoise_scale: 0.5\nfixed: [{position: 1, token: 4}]\n",
        {"--steps", "12", "--schedule", "cosine", "--noise-scale", "0.5", "--fixed", "1:4"},
        {"--set", "steps=12", "--set", "schedule=cosine", "--set", "noise_scale=0.5", "--set",
         "fixed=[{position: 1, token: 4}]"}}},
  };
  for (const auto& [type, settings] : cases) {
    SCOPED_TRACE(type + ": " + settings.yaml);
    const DecoderSpec yaml = from_yaml(block(type, settings.yaml));
    std::vector<std::string> flags{"--decoder", type};
    flags.insert(flags.end(), settings.flags.begin(), settings.flags.end());
    const FlagResult by_flags = from_flags(flags);
    expect_same_spec(by_flags.spec, yaml);
    EXPECT_EQ(by_flags.notes, "") << "current names print no deprecation note";
    std::vector<std::string> set_flags{"--decoder", type};
    set_flags.insert(set_flags.end(), settings.set_flags.begin(), settings.set_flags.end());
    expect_same_spec(from_flags(set_flags).spec, yaml);
  }
}

TEST(DecoderSpec, DefaultsAreTheSameOnBothSides) {
  // Nothing but the type (and the steps diffusion requires): the defaults of docs/decoders.md.
  const DecoderSpec ar = from_flags({"--decoder", "ar"}).spec;
  expect_same_spec(ar, from_yaml(block("ar", "")));
  EXPECT_EQ(ar.describe(), (std::map<std::string, std::string>{{"temperature", "0"}, {"use_cache", "true"}}));
  EXPECT_TRUE(std::get<ArConfig>(ar.settings).stop_on_eos);

  const DecoderSpec diffusion = from_flags({"--decoder", "diffusion", "--steps", "4"}).spec;
  expect_same_spec(diffusion, from_yaml(block("diffusion", "steps: 4\n")));
  EXPECT_EQ(diffusion.describe(), (std::map<std::string, std::string>{{"alg", "entropy"},
                                                                      {"cache", "none"},
                                                                      {"eps", "0.001"},
                                                                      {"schedule", "dream_time_grid"},
                                                                      {"steps", "4"},
                                                                      {"temperature", "0"}}));
  // A LLaDA rule brings LLaDA's schedule.
  EXPECT_EQ(from_flags({"--decoder", "diffusion", "--steps", "4", "--alg", "random"}).spec.describe().at("schedule"),
            "llada_even_split");

  const DecoderSpec remasking = from_flags({"--decoder", "remasking"}).spec;
  expect_same_spec(remasking, from_yaml(block("remasking", "")));
  EXPECT_EQ(remasking.describe(), (std::map<std::string, std::string>{{"schedule", "linear"}, {"steps", "20"}}));

  const DecoderSpec speculative = from_flags({"--decoder", "speculative", "--draft-ngram", "2"}).spec;
  expect_same_spec(speculative, from_yaml(block("speculative", "draft_ngram: 2\n")));
  EXPECT_EQ(speculative.describe().at("draft_length"), "4");
  EXPECT_EQ(std::get<SpeculativeSettings>(speculative.settings).prompt_lookup->min_ngram, 1);

  const DecoderSpec blocks = from_flags({"--decoder", "block_diffusion", "--block-length", "4", "--threshold", "0.9"}).spec;
  expect_same_spec(blocks, from_yaml(block("block_diffusion", "block_length: 4\nthreshold: 0.9\n")));
  EXPECT_EQ(blocks.describe(), (std::map<std::string, std::string>{{"alg", "entropy"},
                                                                  {"block_length", "4"},
                                                                  {"cache", "block"},
                                                                  {"eps", "0.001"},
                                                                  {"schedule", "dream_time_grid"},
                                                                  {"temperature", "0"},
                                                                  {"threshold", "0.9"}}));
  EXPECT_EQ(std::get<SpeculativeSettings>(speculative.settings).draft_steps, 1);
  // block_diffusion needs its block length and exactly one commitment rule; draft_steps needs a draft model.
  EXPECT_EQ(flag_error({"--decoder", "block_diffusion", "--threshold", "0.9"}), "--block-length: required key is missing");
  EXPECT_NE(flag_error({"--decoder", "block_diffusion", "--block-length", "4"}).find("give exactly one of"),
            std::string::npos);
  EXPECT_NE(flag_error({"--decoder", "speculative", "--draft-ngram", "2", "--draft-steps", "2"}).find("draft_model"),
            std::string::npos);
}

// Counts the lines of `notes` and checks each is one deprecation note.
size_t deprecation_lines(const std::string& notes) {
  size_t lines = 0;
  std::istringstream in(notes);
  for (std::string line; std::getline(in, line); ++lines) {
    EXPECT_EQ(line.rfind("warning: ", 0), 0u) << line;
    EXPECT_NE(line.find(" is deprecated; use --"), std::string::npos) << line;
  }
  return lines;
}

TEST(DecoderSpec, DeprecatedNamesMapOntoTheCurrentOnesAndWarnOnce) {
  struct Case {
    std::vector<std::string> old_flags;
    std::string type;
    std::string yaml;
    size_t notes;  // deprecated names used
  };
  const std::vector<Case> cases{
      // Dream's own default rule is origin, LLaDA's low_confidence: the old names keep them.
      {{"--decoder", "dream", "--steps", "4"}, "diffusion", "steps: 4\nalg: origin\n", 1},
      {{"--decoder", "dream", "--steps", "4", "--alg", "entropy", "--gen-len", "8"},
       "diffusion",
       "steps: 4\nalg: entropy\ngen_length: 8\n",
       2},
      {{"--decoder", "llada", "--steps", "8", "--block-length", "8"},
       "diffusion",
       "steps: 8\nalg: low_confidence\nblock_length: 8\n",
       1},
      {{"--decoder", "llada", "--steps", "8", "--remasking", "random"}, "diffusion", "steps: 8\nalg: random\n", 2},
      {{"--decoder", "remask", "--steps", "4", "--remask", "cosine", "--remask-noise", "0.5"},
       "remasking",
       "steps: 4\nschedule: cosine\nnoise_scale: 0.5\n",
       3},
      {{"--decoder", "ar", "--no-cache", "--ignore-eos"}, "ar", "use_cache: false\nstop_on_eos: false\n", 2},
      {{"--decoder", "speculative", "--draft", "some/draft", "--ignore-eos"},
       "speculative",
       "draft_model: some/draft\nstop_on_eos: false\n",
       2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.old_flags[1] + " " + c.yaml);
    const FlagResult old = from_flags(c.old_flags);
    DecoderSpec expected = from_yaml(block(c.type, c.yaml));
    EXPECT_EQ(old.spec.type(), c.type);
    expect_same_spec(old.spec, expected);
    EXPECT_EQ(deprecation_lines(old.notes), c.notes) << old.notes;
  }
  EXPECT_NE(from_flags({"--decoder", "dream", "--steps", "4"})
                .notes.find("warning: --decoder dream is deprecated; use --decoder diffusion --alg origin"),
            std::string::npos);
  EXPECT_NE(from_flags({"--decoder", "dream", "--steps", "4", "--alg", "entropy"})
                .notes.find("warning: --decoder dream is deprecated; use --decoder diffusion\n"),
            std::string::npos);
  EXPECT_NE(from_flags({"--decoder", "ar", "--no-cache"}).notes.find("--no-cache is deprecated; use --no-use-cache"),
            std::string::npos);
  // Old and new spelling of one setting together, or an old flag with a strategy it never belonged to.
  EXPECT_NE(flag_error({"--decoder", "diffusion", "--steps", "4", "--gen-len", "8", "--gen-length", "8"})
                .find("are the same setting (gen_length)"),
            std::string::npos);
  EXPECT_NE(flag_error({"--decoder", "diffusion", "--steps", "4", "--remasking", "random"})
                .find("--remasking does not apply to --decoder diffusion"),
            std::string::npos);
}

TEST(DecoderSpec, SetWithAnUnknownOrForeignKeyFailsNamingIt) {
  const std::string unknown = flag_error({"--decoder", "diffusion", "--steps", "4", "--set", "stepz=3"});
  EXPECT_EQ(unknown.rfind("--set stepz: unknown decoder setting (--decoder diffusion has ", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("steps"), std::string::npos) << unknown;
  EXPECT_NE(flag_error({"--decoder", "remasking", "--set", "threshold=0.9"})
                .find("--set threshold: does not apply to --decoder remasking"),
            std::string::npos);
  EXPECT_NE(flag_error({"--decoder", "ar", "--set", "request_order=fifo"}).find("experiment files only"),
            std::string::npos);
  EXPECT_EQ(flag_error({"--decoder", "ar", "--set", "temperature"}), "--set temperature: expected KEY=VALUE");
  EXPECT_EQ(flag_error({"--decoder", "diffusion", "--steps", "4", "--set", "steps=8"}),
            "--set steps and --steps are the same setting (steps); give one");
  // Values are checked by the experiment files' reader; errors name the flag that gave them.
  EXPECT_EQ(flag_error({"--decoder", "diffusion", "--set", "steps=-1"}),
            "--set steps: expected an integer >= 1, got -1");
  EXPECT_EQ(flag_error({"--decoder", "diffusion", "--steps", "many"}), "--steps: expected an integer >= 1, got 'many'");
  EXPECT_EQ(flag_error({"--decoder", "diffusion", "--alg", "entropy"}), "--steps: required key is missing");
  EXPECT_EQ(flag_error({"--decoder", "ar", "--steps", "4"}), "--steps does not apply to --decoder ar");
  EXPECT_EQ(flag_error({"--decoder", "beam"}),
            "unknown decoder 'beam' (expected ar, speculative, diffusion, remasking or block_diffusion)");
  EXPECT_NE(flag_error({"--decoder", "diffusion", "--steps", "4", "--alg", "origin", "--schedule", "cosine"})
                .find("--decoder diffusion: diffusion: selection 'origin'"),
            std::string::npos);
}

TEST(DecoderSpec, KeysOfAnotherStrategyAreRefusedInYaml) {
  try {
    from_yaml(block("remasking", "threshold: 0.9\n"));
    ADD_FAILURE() << "threshold accepted for remasking";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "block.yaml:4: threshold: unknown key for type remasking (a setting of diffusion | block_diffusion)");
  }
}

TEST(DecoderSpec, TrainingDecodersAreTheNamedSettings) {
  const DecoderSpec study = study_remasking_spec();
  const RemaskingConfig expected = study_remasking_config();
  EXPECT_EQ(study.name, "remasking-study-T20");
  expect_same_fields(std::get<RemaskingConfig>(study.settings), expected);
  const DecoderSpec entropy = dream_entropy_spec(16);
  EXPECT_EQ(entropy.name, "dream-entropy-T16");
  EXPECT_EQ(std::get<DiffusionConfig>(entropy.settings).selection, Selection::kEntropy);
  EXPECT_EQ(std::get<DiffusionConfig>(entropy.settings).steps, 16);
  EXPECT_EQ(std::get<ArConfig>(ar_greedy_spec({3}).settings).stop_ids, std::vector<int64_t>{3});
  EXPECT_TRUE(std::get<ArConfig>(ar_greedy_spec().settings).sampling.greedy());
  EXPECT_EQ(std::get<RemaskingConfig>(remasking_spec(4).settings).steps, 4);
  EXPECT_FALSE(std::get<RemaskingConfig>(remasking_spec(4).settings).noise_scale.has_value());
  const DecoderSpec blocks = block_diffusion_spec(4, 2);
  EXPECT_EQ(blocks.name, "block-L4-S2");
  EXPECT_EQ(std::get<BlockDiffusionConfig>(blocks.settings).steps_per_block, std::optional<int64_t>(2));
  EXPECT_EQ(std::get<BlockDiffusionConfig>(block_threshold_spec(8, 0.9).settings).threshold, std::optional<double>(0.9));
}

// ---- sweep points ------------------------------------------------------------------------------

const char* kExperiment = R"(name: demo
task:
  type: sudoku
  size: 4
  givens: 8
  num_examples: 50
models:
  mdm:
    path: some/checkpoint
decoders:
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

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

std::string spec_error(const std::string& text) {
  try {
    parse_experiment_spec(text, "exp.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SweepPoints, EveryPointIsParsedWhenTheFileIsRead) {
  const ExperimentSpec spec = parse_experiment_spec(kExperiment, "exp.yaml");
  ASSERT_EQ(spec.points.size(), 6u);  // 3 steps x 2 thresholds
  for (const SweepPoint& point : spec.points) {
    const auto& config = std::get<DiffusionConfig>(point.decoder.settings);
    EXPECT_EQ(point.swept.at("steps"), std::to_string(config.steps));
    ASSERT_TRUE(config.threshold.has_value());
    EXPECT_EQ(config.selection, Selection::kEntropy) << "unswept keys keep the block's values";
  }
  EXPECT_EQ(expand_runs(spec).size(), 12u);
}

TEST(SweepPoints, AnInvalidPointNamesTheKeyPathAndThePoint) {
  const std::string range = spec_error(replace(kExperiment, "[0.5, 0.9]", "[0.5, 2]"));
  EXPECT_EQ(range.rfind("exp.yaml:18: decoders[0].threshold: expected a number in [0, 1], got 2", 0), 0u) << range;
  EXPECT_NE(range.find("(sweep point diffusion: steps=1, threshold=2)"), std::string::npos) << range;
  // A combination only the point has: origin has no confidence score for the threshold.
  const std::string combination =
      spec_error(replace(kExperiment, "  diffusion.steps: [1, 2, 4]\n", "  diffusion.alg: [entropy, origin]\n"));
  EXPECT_NE(combination.find("decoders[0]: diffusion: threshold needs a confidence score; 'origin' has none"),
            std::string::npos)
      << combination;
  EXPECT_NE(combination.find("(sweep point diffusion: alg=origin, threshold=0.5)"), std::string::npos) << combination;
  EXPECT_EQ(spec_error(replace(kExperiment, "diffusion.threshold:", "diffusion.draft_length:")),
            "exp.yaml:18: sweep.diffusion.draft_length: 'draft_length' is not a setting of diffusion decoders "
            "(docs/decoders.md lists them)");
}

TEST(SweepPoints, RunIdsKeepTheirValues) {
  // The run ids result files were written with: FNV-1a 64 of the run's identity text, computed outside
  // this code (python) from "sudoku4x4-g8|50|1|sudoku_valid|float32|seed=S|type=diffusion|model=mdm|"
  // + the sorted settings + "|weights=some/checkpoint".
  const std::vector<RunSpec> runs = expand_runs(parse_experiment_spec(kExperiment, "exp.yaml"));
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(runs[0].run_id, "diffusion-1822c9ca3930");   // steps 1, threshold 0.5, seed 0
  EXPECT_EQ(runs[11].run_id, "diffusion-3977a4d6dc2d");  // steps 4, threshold 0.9, seed 1
}

}  // namespace
}  // namespace stepwise::runner
