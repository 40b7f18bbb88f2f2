// YAML decoder blocks -> strategy settings.
#include "experiments/runner/decoder_spec.h"

#include <sstream>

#include "core/error.h"

namespace stepwise::runner {
namespace {

const std::vector<std::string> kTypes{"ar", "speculative", "diffusion", "remasking"};

SamplingParams read_sampling(const YamlReader& block) {
  SamplingParams sampling;
  sampling.temperature = block.number("temperature", 0.0, 0.0);
  sampling.top_k = block.optional_integer("top_k", 1);
  sampling.top_p = block.optional_number("top_p", 0.0, 1.0);
  if (sampling.top_p && *sampling.top_p <= 0.0) block.fail_at("top_p", "expected a number in (0, 1]");
  return sampling;
}

std::vector<int64_t> read_stop_ids(const YamlReader& block) { return block.integer_list("stop_ids"); }

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

// Runs a validate() of the decoders library and re-throws its message with the block's location.
template <typename Config>
void validate_at(const YamlReader& block, const Config& config) {
  try {
    validate(config);
  } catch (const Error& e) {
    std::ostringstream out;
    out << block.file() << ":" << yaml_line(block.node()) << ": " << block.path() << ": " << e.what();
    throw Error(out.str());
  }
}

ArConfig read_ar(const YamlReader& block) {
  ArConfig config;
  config.sampling = read_sampling(block);
  config.use_cache = block.boolean("use_cache", true);
  config.stop_ids = read_stop_ids(block);
  config.stop_on_eos = block.boolean("stop_on_eos", true);
  return config;
}

SpeculativeSettings read_speculative(const YamlReader& block) {
  SpeculativeSettings settings;
  settings.config.sampling = read_sampling(block);
  settings.config.draft_length = block.integer("draft_length", 4, 1, 64);
  settings.config.adaptive = block.boolean("adaptive", false);
  settings.config.stop_ids = read_stop_ids(block);
  settings.config.stop_on_eos = block.boolean("stop_on_eos", true);
  if (block.has("draft_model")) settings.draft_model = block.string("draft_model");
  if (block.has("draft_ngram")) {
    PromptLookup lookup;
    lookup.max_ngram = block.integer("draft_ngram", std::nullopt, 1, 16);
    lookup.min_ngram = block.integer("draft_ngram_min", 1, 1, lookup.max_ngram);
    settings.prompt_lookup = lookup;
  }
  if (settings.draft_model.has_value() == settings.prompt_lookup.has_value())
    block.fail_at("draft_model", "give exactly one of draft_model (a model name) or draft_ngram (n)");
  return settings;
}

DiffusionConfig read_diffusion(const YamlReader& block) {
  DiffusionConfig config;
  config.steps = block.integer("steps", std::nullopt, 1);
  const std::string alg = block.choice(
      "alg", {"origin", "maskgit_plus", "topk_margin", "entropy", "low_confidence", "random"}, std::string("entropy"));
  config.selection = parse_selection(alg);
  const std::string default_schedule =
      is_llada_selection(config.selection) ? "llada_even_split" : "dream_time_grid";
  config.schedule = parse_schedule(
      block.choice("schedule", {"dream_time_grid", "llada_even_split", "cosine"}, default_schedule));
  config.eps = block.number("eps", 1e-3, 0.0, 1.0);
  config.block_length = block.optional_integer("block_length", 1);
  config.threshold = block.optional_number("threshold", 0.0, 1.0);
  config.alg_temp = block.optional_number("alg_temp", 0.0);
  config.cfg_scale = block.optional_number("cfg_scale", 0.0);
  config.cache = parse_cache_mode(block.choice("cache", {"none", "prefix", "dual"}, std::string("none")));
  config.sampling = read_sampling(block);
  config.fixed = read_fixed(block);
  validate_at(block, config);
  return config;
}

RemaskingConfig read_remasking(const YamlReader& block) {
  RemaskingConfig config;
  config.steps = block.integer("steps", 20, 1);
  config.schedule = parse_remask_schedule(block.choice("schedule", {"linear", "cosine"}, std::string("linear")));
  config.noise_scale = block.optional_number("noise_scale", 0.0);
  config.fixed = read_fixed(block);
  validate_at(block, config);
  return config;
}

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

}  // namespace

DecoderSpec parse_decoder_spec(const YamlReader& block) {
  DecoderSpec spec;
  spec.name = block.string("name");
  spec.type = block.choice("type", kTypes);
  spec.model = block.string("model");
  spec.gen_length = block.optional_integer("gen_length", 1);
  spec.request_order = parse_request_order(
      block.choice("request_order", {to_string(RequestOrder::kFifo), to_string(RequestOrder::kShortestPrefillFirst)},
                   to_string(RequestOrder::kFifo)));
  spec.node = YAML::Clone(block.node());
  if (spec.type == "ar") spec.settings = read_ar(block);
  else if (spec.type == "speculative") spec.settings = read_speculative(block);
  else if (spec.type == "diffusion") spec.settings = read_diffusion(block);
  else spec.settings = read_remasking(block);
  block.finish();
  return spec;
}

std::map<std::string, std::string> DecoderSpec::describe() const {
  std::map<std::string, std::string> out;
  if (gen_length) out["gen_length"] = std::to_string(*gen_length);
  if (request_order != RequestOrder::kFifo) out["request_order"] = to_string(request_order);
  if (const auto* ar = std::get_if<ArConfig>(&settings)) {
    describe_sampling(ar->sampling, out);
    out["use_cache"] = ar->use_cache ? "true" : "false";
  } else if (const auto* speculative = std::get_if<SpeculativeSettings>(&settings)) {
    describe_sampling(speculative->config.sampling, out);
    out["draft_length"] = std::to_string(speculative->config.draft_length);
    out["adaptive"] = speculative->config.adaptive ? "true" : "false";
    if (speculative->draft_model) out["draft_model"] = *speculative->draft_model;
    if (speculative->prompt_lookup) out["draft_ngram"] = std::to_string(speculative->prompt_lookup->max_ngram);
  } else if (const auto* diffusion = std::get_if<DiffusionConfig>(&settings)) {
    describe_sampling(diffusion->sampling, out);
    out["steps"] = std::to_string(diffusion->steps);
    out["alg"] = to_string(diffusion->selection);
    out["schedule"] = to_string(diffusion->schedule);
    out["eps"] = number_text(diffusion->eps);
    out["cache"] = to_string(diffusion->cache);
    if (diffusion->block_length) out["block_length"] = std::to_string(*diffusion->block_length);
    if (diffusion->threshold) out["threshold"] = number_text(*diffusion->threshold);
    if (diffusion->alg_temp) out["alg_temp"] = number_text(*diffusion->alg_temp);
    if (diffusion->cfg_scale) out["cfg_scale"] = number_text(*diffusion->cfg_scale);
    if (!diffusion->fixed.empty()) out["fixed"] = std::to_string(diffusion->fixed.size());
  } else if (const auto* remasking = std::get_if<RemaskingConfig>(&settings)) {
    out["steps"] = std::to_string(remasking->steps);
    out["schedule"] = to_string(remasking->schedule);
    if (remasking->noise_scale) out["noise_scale"] = number_text(*remasking->noise_scale);
  }
  return out;
}

}  // namespace stepwise::runner
