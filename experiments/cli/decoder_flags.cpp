// Command-line flags -> a decoder block (YAML keys) -> the experiment files' reader. Flags that do not
// belong to the chosen strategy are errors, never silently ignored. Torch-free.
#include "experiments/cli/decoder_flags.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "core/error.h"
#include "experiments/runner/decoder_keys.h"

namespace stepwise::cli {
namespace {

using runner::DecoderKey;
using runner::FlagForm;

// A deprecated --decoder name: the strategy it is now, and the settings it implied unless given.
struct DecoderAlias {
  std::string name;
  std::string type;
  std::map<std::string, std::string> implied;  // key -> YAML value
  std::string replacement;                     // what to write instead
};

const std::vector<DecoderAlias>& decoder_aliases() {
  static const std::vector<DecoderAlias> aliases{
      {"dream", "diffusion", {{"alg", "origin"}}, "--decoder diffusion --alg origin"},
      {"llada", "diffusion", {{"alg", "low_confidence"}}, "--decoder diffusion --alg low_confidence"},
      {"remask", "remasking", {}, "--decoder remasking"},
  };
  return aliases;
}

// A deprecated flag spelling: the key it sets and the --decoder names it was accepted with.
struct FlagAlias {
  std::string flag;
  std::string key;
  std::optional<std::string> value;  // switches: the YAML value they set
  std::vector<std::string> decoders;
};

const std::vector<FlagAlias>& flag_aliases() {
  static const std::vector<FlagAlias> aliases{
      {"gen-len", "gen_length", std::nullopt, {"dream", "llada", "remask", "diffusion", "remasking"}},
      {"no-cache", "use_cache", "false", {"ar"}},
      {"ignore-eos", "stop_on_eos", "false", {"ar", "speculative"}},
      {"draft", "draft_model", std::nullopt, {"speculative"}},
      {"remasking", "alg", std::nullopt, {"llada"}},
      {"remask", "schedule", std::nullopt, {"remask", "remasking"}},
      {"remask-noise", "noise_scale", std::nullopt, {"remask", "remasking"}},
  };
  return aliases;
}

// "POS:ID,POS:ID" -> [{position: POS, token: ID}, ...].
YAML::Node fixed_list(const std::string& text, const std::string& flag) {
  YAML::Node list(YAML::NodeType::Sequence);
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) {
      const size_t colon = item.find(':');
      check(colon != std::string::npos, flag, ": expected POS:ID entries separated by commas, got '", item, "'");
      YAML::Node entry(YAML::NodeType::Map);
      entry["position"] = parse_int(item.substr(0, colon), flag + " position");
      entry["token"] = parse_int(item.substr(colon + 1), flag + " token");
      list.push_back(entry);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  check(list.size() > 0, flag, ": no POS:ID entries in '", text, "'");
  return list;
}

// The YAML value a flag of `key` stands for.
YAML::Node flag_value(const DecoderKey& key, const ArgParser& parser, const std::string& flag) {
  switch (key.form) {
    case FlagForm::kSwitchOn:
      return YAML::Node("true");
    case FlagForm::kSwitchOff:
      return YAML::Node("false");
    case FlagForm::kIntegerList: {
      YAML::Node list(YAML::NodeType::Sequence);
      for (int64_t id : parse_int_list(parser.get(flag), "--" + flag)) list.push_back(id);
      return list;
    }
    case FlagForm::kFixedList:
      return fixed_list(parser.get(flag), "--" + flag);
    case FlagForm::kValue:
    case FlagForm::kNone:
      break;
  }
  return YAML::Node(parser.get(flag));
}

// The block being built, with the command-line spelling of every key it holds.
struct Block {
  YAML::Node node{YAML::NodeType::Map};
  std::map<std::string, std::string> labels;  // key -> "--steps", "--set steps", ...

  void set(const std::string& key, const YAML::Node& value, const std::string& label) {
    if (labels.count(key)) fail(label, " and ", labels.at(key), " are the same setting (", key, "); give one");
    node[key] = value;
    labels[key] = label;
  }
};

std::string keys_of(const std::string& type) {
  std::string list;
  for (const DecoderKey& key : runner::decoder_keys())
    if (key.form != FlagForm::kNone && runner::key_applies_to(key, type)) list += (list.empty() ? "" : ", ") + key.name;
  return list;
}

// --set KEY=VALUE, VALUE in YAML syntax.
void apply_set(const std::string& entry, const std::string& type, const std::string& kind, Block& block) {
  const size_t eq = entry.find('=');
  check(eq != std::string::npos && eq > 0, "--set ", entry, ": expected KEY=VALUE");
  const std::string key = entry.substr(0, eq);
  const std::string label = "--set " + key;
  const DecoderKey* setting = runner::find_decoder_key(key);
  check(setting != nullptr, label, ": unknown decoder setting (--decoder ", kind, " has ", keys_of(type), ")");
  check(setting->form != FlagForm::kNone, label, ": a setting of experiment files only");
  check(runner::key_applies_to(*setting, type), label, ": does not apply to --decoder ", kind, " (it has ",
        keys_of(type), ")");
  YAML::Node value;
  try {
    value = YAML::Load(entry.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    fail(label, ": not valid YAML (", e.msg, ")");
  }
  block.set(key, value, label);
}

}  // namespace

void add_decoder_flags(ArgParser& parser) {
  std::string types;
  for (const auto& type : runner::decoder_types()) types += (types.empty() ? "" : " | ") + type;
  parser.add_option("decoder", "TYPE", types + " (the type: of experiment files)", "ar");
  for (const DecoderKey& key : runner::decoder_keys()) {
    if (key.form == FlagForm::kNone) continue;
    std::string owners;
    for (const auto& owner : key.types) owners += (owners.empty() ? "" : ", ") + owner;
    const std::string help = owners + ": " + key.help;
    if (key.form == FlagForm::kSwitchOn || key.form == FlagForm::kSwitchOff)
      parser.add_switch(runner::flag_name(key),
                        help + " (" + key.name + ": " + (key.form == FlagForm::kSwitchOn ? "true" : "false") + ")");
    else
      parser.add_option(runner::flag_name(key), key.value_name, help);
  }
  parser.add_repeated_option("set", "KEY=VALUE", "any decoder setting by its experiment-file key, VALUE in YAML");
  parser.add_switch("trace", "diffusion, remasking, block_diffusion: per-step history and commit steps in the JSON stats");
  for (const FlagAlias& alias : flag_aliases()) {
    const DecoderKey& key = *runner::find_decoder_key(alias.key);
    const std::string help = "deprecated: --" + runner::flag_name(key);
    if (alias.value)
      parser.add_switch(alias.flag, help);
    else
      parser.add_option(alias.flag, key.value_name, help);
  }
}

runner::DecoderSpec decoder_spec_from_flags(const ArgParser& parser, std::ostream& notes) {
  const std::string kind = parser.get("decoder");
  const DecoderAlias* alias = nullptr;
  for (const DecoderAlias& candidate : decoder_aliases())
    if (candidate.name == kind) alias = &candidate;
  const auto& types = runner::decoder_types();
  std::string type = kind;
  if (alias) {
    type = alias->type;
  } else if (std::find(types.begin(), types.end(), kind) == types.end()) {
    std::string expected;
    for (size_t i = 0; i < types.size(); ++i)
      expected += (i == 0 ? "" : i + 1 == types.size() ? " or " : ", ") + types[i];
    fail("unknown decoder '", kind, "' (expected ", expected, ")");
  }

  Block block;
  block.set("name", YAML::Node(kind), "--decoder");
  block.set("type", YAML::Node(type), "--decoder");
  block.set("model", YAML::Node(kCliModel), "--model");
  for (const DecoderKey& key : runner::decoder_keys()) {
    const std::string flag = runner::flag_name(key);
    if (flag.empty() || !parser.given(flag)) continue;
    check(runner::key_applies_to(key, type), "--", flag, " does not apply to --decoder ", kind);
    block.set(key.name, flag_value(key, parser, flag), "--" + flag);
  }
  for (const FlagAlias& old : flag_aliases()) {
    if (!parser.given(old.flag)) continue;
    check(std::find(old.decoders.begin(), old.decoders.end(), kind) != old.decoders.end(), "--", old.flag,
          " does not apply to --decoder ", kind);
    const DecoderKey& key = *runner::find_decoder_key(old.key);
    notes << "warning: --" << old.flag << " is deprecated; use --" << runner::flag_name(key) << "\n";
    block.set(key.name, old.value ? YAML::Node(*old.value) : flag_value(key, parser, old.flag), "--" + old.flag);
  }
  for (const std::string& entry : parser.get_all("set")) apply_set(entry, type, kind, block);
  if (alias) {
    // The old names chose their selection rule by their own flag: LLaDA's by --remasking, Dream's by --alg.
    if (kind == "llada" && block.labels.count("alg") && block.labels.at("alg") == "--alg")
      fail("--alg does not apply to --decoder llada (use --remasking, or --decoder diffusion --alg)");
    if (kind == "llada" && block.labels.count("alg")) {
      const std::string rule = block.node["alg"].Scalar();
      check(rule == "low_confidence" || rule == "random", "--remasking: expected low_confidence or random, got '", rule,
            "'");
    }
    // The note names the implied settings only when the command line relied on them.
    bool implied_used = false;
    for (const auto& [key, value] : alias->implied)
      if (!block.labels.count(key)) {
        block.set(key, YAML::Node(value), "--decoder " + kind);
        implied_used = true;
      }
    notes << "warning: --decoder " << kind << " is deprecated; use "
          << (implied_used ? alias->replacement : "--decoder " + alias->type) << "\n";
  }
  check(!parser.get_switch("trace") || type == "diffusion" || type == "remasking" || type == "block_diffusion",
        "--trace does not apply to --decoder ", kind);

  // Keys not given are named by their flag too (a missing required one: "--steps: required key is missing").
  std::map<std::string, std::string> labels = block.labels;
  for (const DecoderKey& key : runner::decoder_keys())
    if (!runner::flag_name(key).empty()) labels.emplace(key.name, "--" + runner::flag_name(key));
  runner::DecoderSpec spec =
      runner::parse_decoder_spec(runner::YamlReader(block.node, "--decoder " + kind, "", labels));
  if (spec.gen_length && parser.given("max-new-tokens"))
    check(parser.get_int("max-new-tokens") == *spec.gen_length, block.labels.at("gen_length"), " ", *spec.gen_length,
          " and --max-new-tokens ", parser.get_int("max-new-tokens"), " disagree (they are the same setting)");
  return spec;
}

}  // namespace stepwise::cli
