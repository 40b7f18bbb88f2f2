// Decoder blocks -> strategy settings: one reader per strategy, with every default a decoder setting
// has (docs/decoders.md lists them), one describe() and the models it runs. All are overloads chosen by
// the settings alternative, so a strategy added to DecoderSettings does not compile until it has its
// name, its reader, its description and its models here.
#include "experiments/runner/decoder_spec.h"

#include <sstream>
#include <type_traits>
#include <utility>

#include "core/error.h"
#include "experiments/runner/decoder_keys.h"

namespace stepwise::runner {
namespace {

// The `type:` name of each alternative of DecoderSettings.
template <typename Settings>
struct StrategyName;
template <>
struct StrategyName<ArConfig> {
  static constexpr const char* value = "ar";
};
template <>
struct StrategyName<SpeculativeSettings> {
  static constexpr const char* value = "speculative";
};
template <>
struct StrategyName<DiffusionConfig> {
  static constexpr const char* value = "diffusion";
};
template <>
struct StrategyName<RemaskingConfig> {
  static constexpr const char* value = "remasking";
};
template <>
struct StrategyName<BlockDiffusionConfig> {
  static constexpr const char* value = "block_diffusion";
};

// ---- reading --------------------------------------------------------------------------------------

SamplingParams read_sampling(const YamlReader& block) {
  SamplingParams sampling;
  sampling.temperature = block.number("temperature", sampling.temperature, 0.0);
  sampling.top_k = block.optional_integer("top_k", 1);
  sampling.top_p = block.optional_number("top_p", 0.0, 1.0);
  if (sampling.top_p && *sampling.top_p <= 0.0) block.fail_at("top_p", "expected a number in (0, 1]");
  return sampling;
}

std::vector<FixedToken> read_fixed(const YamlReader& block) {
  std::vector<FixedToken> fixed;
  for (const auto& entry : block.children("fixed")) {
    FixedToken token;
    token.position = entry.integer("position", std::nullopt, 0);
    token.token = entry.integer("token", std::nullopt, 0);
    entry.finish();
    fixed.push_back(token);
  }
  return fixed;
}

// A name the decoders library parses (schedule, selection, cache mode); its error gets the key's location.
template <typename Enum>
Enum read_named(const YamlReader& block, const std::string& key, Enum (*parse)(const std::string&),
                const std::string& fallback) {
  const std::string name = block.string(key, fallback);
  try {
    return parse(name);
  } catch (const Error& e) {
    block.fail_at(key, e.what());
  }
}

// Runs a validate() of the decoders library and re-throws its message with the block's location.
template <typename Config>
void validate_at(const YamlReader& block, const Config& config) {
  try {
    validate(config);
  } catch (const Error& e) {
    throw Error(block.location() + ": " + e.what());
  }
}

ArConfig read_settings(std::in_place_type_t<ArConfig>, const YamlReader& block) {
  ArConfig config;
  config.sampling = read_sampling(block);
  config.use_cache = block.boolean("use_cache", config.use_cache);
  config.stop_ids = block.integer_list("stop_ids");
  config.stop_on_eos = block.boolean("stop_on_eos", config.stop_on_eos);
  return config;
}

SpeculativeSettings read_settings(std::in_place_type_t<SpeculativeSettings>, const YamlReader& block) {
  SpeculativeSettings settings;
  settings.config.sampling = read_sampling(block);
  settings.config.draft_length = block.integer("draft_length", settings.config.draft_length, 1, 64);
  settings.config.adaptive = block.boolean("adaptive", settings.config.adaptive);
  settings.config.stop_ids = block.integer_list("stop_ids");
  settings.config.stop_on_eos = block.boolean("stop_on_eos", settings.config.stop_on_eos);
  if (block.has("draft_model")) settings.draft_model = block.string("draft_model");
  if (block.has("draft_ngram")) {
    PromptLookup lookup;
    lookup.max_ngram = block.integer("draft_ngram", std::nullopt, 1, 16);
    lookup.min_ngram = block.integer("draft_ngram_min", 1, 1, lookup.max_ngram);
    settings.prompt_lookup = lookup;
  }
  settings.draft_steps = block.integer("draft_steps", settings.draft_steps, 1, 64);
  if (block.has("draft_steps") && !settings.draft_model)
    block.fail_at("draft_steps", "applies to a draft_model (a masked-diffusion one), not to n-gram drafts");
  if (settings.draft_model.has_value() == settings.prompt_lookup.has_value())
    block.fail_at("draft_model", "give exactly one of draft_model (a model name) or draft_ngram (n)");
  return settings;
}

DiffusionConfig read_settings(std::in_place_type_t<DiffusionConfig>, const YamlReader& block) {
  DiffusionConfig config;
  config.threshold = block.optional_number("threshold", 0.0, 1.0);
  // Threshold decoding runs each block until it is filled: the step count is then not used.
  config.steps = block.integer("steps", config.threshold ? std::optional<int64_t>(config.steps) : std::nullopt, 1);
  config.selection = read_named(block, "alg", parse_selection, "entropy");
  const std::string default_schedule =
      is_llada_selection(config.selection) ? "llada_even_split" : "dream_time_grid";
  config.schedule = read_named(block, "schedule", parse_schedule, default_schedule);
  config.eps = block.number("eps", config.eps, 0.0, 1.0);
  config.block_length = block.optional_integer("block_length", 1);
  config.alg_temp = block.optional_number("alg_temp", 0.0);
  config.cfg_scale = block.optional_number("cfg_scale", 0.0);
  config.cache = read_named(block, "cache", parse_cache_mode, "none");
  config.sampling = read_sampling(block);
  config.fixed = read_fixed(block);
  validate_at(block, config);
  return config;
}

RemaskingConfig read_settings(std::in_place_type_t<RemaskingConfig>, const YamlReader& block) {
  RemaskingConfig config;
  config.steps = block.integer("steps", config.steps, 1);
  config.schedule = read_named(block, "schedule", parse_remask_schedule, "linear");
  config.noise_scale = block.optional_number("noise_scale", 0.0);
  config.fixed = read_fixed(block);
  validate_at(block, config);
  return config;
}

BlockDiffusionConfig read_settings(std::in_place_type_t<BlockDiffusionConfig>, const YamlReader& block) {
  BlockDiffusionConfig config;
  config.block_length = block.integer("block_length", std::nullopt, 1);
  config.sub_block_length = block.optional_integer("sub_block_length", 1);
  config.threshold = block.optional_number("threshold", 0.0, 1.0);
  config.steps_per_block = block.optional_integer("steps_per_block", 1);
  if (config.threshold.has_value() == config.steps_per_block.has_value())
    block.fail_at("steps_per_block", "give exactly one of steps_per_block (fixed-count commitment) or threshold");
  config.selection = read_named(block, "alg", parse_selection, "entropy");
  const std::string default_schedule =
      is_llada_selection(config.selection) ? "llada_even_split" : "dream_time_grid";
  config.schedule = read_named(block, "schedule", parse_schedule, default_schedule);
  config.eps = block.number("eps", config.eps, 0.0, 1.0);
  config.alg_temp = block.optional_number("alg_temp", 0.0);
  config.cache = read_named(block, "cache", parse_block_cache_mode, "block");
  config.sampling = read_sampling(block);
  validate_at(block, config);
  return config;
}

// The settings of the alternative named `type` (already one of decoder_types()).
template <size_t Index = 0>
DecoderSettings read_by_type(const std::string& type, const YamlReader& block) {
  if constexpr (Index < std::variant_size_v<DecoderSettings>) {
    using Settings = std::variant_alternative_t<Index, DecoderSettings>;
    if (type == StrategyName<Settings>::value) return read_settings(std::in_place_type<Settings>, block);
    return read_by_type<Index + 1>(type, block);
  } else {
    block.fail_at("type", "unknown decoder type '" + type + "'");
  }
}

template <size_t... Index>
std::vector<std::string> type_names(std::index_sequence<Index...>) {
  return {StrategyName<std::variant_alternative_t<Index, DecoderSettings>>::value...};
}

// Keys of the table that belong to another strategy are refused with a pointer to the right one.
void check_keys_apply(const YamlReader& block, const std::string& type) {
  for (const std::string& key : block.keys()) {
    const DecoderKey* entry = find_decoder_key(key);
    if (!entry || key_applies_to(*entry, type)) continue;
    std::string owners;
    for (const auto& owner : entry->types) owners += (owners.empty() ? "" : " | ") + owner;
    block.fail_at(key, "unknown key for type " + type + " (a setting of " + owners + ")");
  }
}

// ---- describing -----------------------------------------------------------------------------------

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void describe_sampling(const SamplingParams& sampling, std::map<std::string, std::string>& out) {
  out["temperature"] = number_text(sampling.temperature);
  if (sampling.top_k) out["top_k"] = std::to_string(*sampling.top_k);
  if (sampling.top_p) out["top_p"] = number_text(*sampling.top_p);
}

void describe_settings(const ArConfig& ar, std::map<std::string, std::string>& out) {
  describe_sampling(ar.sampling, out);
  out["use_cache"] = ar.use_cache ? "true" : "false";
}

void describe_settings(const SpeculativeSettings& speculative, std::map<std::string, std::string>& out) {
  describe_sampling(speculative.config.sampling, out);
  out["draft_length"] = std::to_string(speculative.config.draft_length);
  out["adaptive"] = speculative.config.adaptive ? "true" : "false";
  if (speculative.draft_model) out["draft_model"] = *speculative.draft_model;
  if (speculative.prompt_lookup) out["draft_ngram"] = std::to_string(speculative.prompt_lookup->max_ngram);
  if (speculative.draft_steps != 1) out["draft_steps"] = std::to_string(speculative.draft_steps);
}

void describe_settings(const DiffusionConfig& diffusion, std::map<std::string, std::string>& out) {
  describe_sampling(diffusion.sampling, out);
  out["steps"] = std::to_string(diffusion.steps);
  out["alg"] = to_string(diffusion.selection);
  out["schedule"] = to_string(diffusion.schedule);
  out["eps"] = number_text(diffusion.eps);
  out["cache"] = to_string(diffusion.cache);
  if (diffusion.block_length) out["block_length"] = std::to_string(*diffusion.block_length);
  if (diffusion.threshold) out["threshold"] = number_text(*diffusion.threshold);
  if (diffusion.alg_temp) out["alg_temp"] = number_text(*diffusion.alg_temp);
  if (diffusion.cfg_scale) out["cfg_scale"] = number_text(*diffusion.cfg_scale);
  if (!diffusion.fixed.empty()) out["fixed"] = std::to_string(diffusion.fixed.size());
}

void describe_settings(const RemaskingConfig& remasking, std::map<std::string, std::string>& out) {
  out["steps"] = std::to_string(remasking.steps);
  out["schedule"] = to_string(remasking.schedule);
  if (remasking.noise_scale) out["noise_scale"] = number_text(*remasking.noise_scale);
}

void describe_settings(const BlockDiffusionConfig& block, std::map<std::string, std::string>& out) {
  describe_sampling(block.sampling, out);
  out["block_length"] = std::to_string(block.block_length);
  if (block.sub_block_length) out["sub_block_length"] = std::to_string(*block.sub_block_length);
  if (block.steps_per_block) out["steps_per_block"] = std::to_string(*block.steps_per_block);
  if (block.threshold) out["threshold"] = number_text(*block.threshold);
  out["alg"] = to_string(block.selection);
  out["schedule"] = to_string(block.schedule);
  out["eps"] = number_text(block.eps);
  out["cache"] = to_string(block.cache);
  if (block.alg_temp) out["alg_temp"] = number_text(*block.alg_temp);
}

// Models a strategy runs besides the spec's `model`.
void add_other_models(const ArConfig&, std::vector<std::string>&) {}
void add_other_models(const SpeculativeSettings& speculative, std::vector<std::string>& names) {
  if (speculative.draft_model) names.push_back(*speculative.draft_model);
}
void add_other_models(const DiffusionConfig&, std::vector<std::string>&) {}
void add_other_models(const RemaskingConfig&, std::vector<std::string>&) {}
void add_other_models(const BlockDiffusionConfig&, std::vector<std::string>&) {}

}  // namespace

const std::vector<std::string>& decoder_types() {
  static const std::vector<std::string> names =
      type_names(std::make_index_sequence<std::variant_size_v<DecoderSettings>>{});
  return names;
}

DecoderSpec parse_decoder_spec(const YamlReader& block) {
  DecoderSpec spec;
  spec.name = block.string("name");
  const std::string type = block.choice("type", decoder_types());
  spec.model = block.string("model");
  check_keys_apply(block, type);
  spec.gen_length = block.optional_integer("gen_length", 1);
  spec.request_order = parse_request_order(
      block.choice("request_order", {to_string(RequestOrder::kFifo), to_string(RequestOrder::kShortestPrefillFirst)},
                   to_string(RequestOrder::kFifo)));
  spec.settings = read_by_type(type, block);
  block.finish();
  return spec;
}

std::string DecoderSpec::type() const {
  return std::visit(
      [](const auto& alternative) -> std::string { return StrategyName<std::decay_t<decltype(alternative)>>::value; },
      settings);
}

std::vector<std::string> DecoderSpec::model_names() const {
  std::vector<std::string> names{model};
  std::visit([&names](const auto& alternative) { add_other_models(alternative, names); }, settings);
  return names;
}

std::map<std::string, std::string> DecoderSpec::describe() const {
  std::map<std::string, std::string> out;
  if (gen_length) out["gen_length"] = std::to_string(*gen_length);
  if (request_order != RequestOrder::kFifo) out["request_order"] = to_string(request_order);
  std::visit([&out](const auto& alternative) { describe_settings(alternative, out); }, settings);
  return out;
}

}  // namespace stepwise::runner
