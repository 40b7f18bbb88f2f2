// Names and validation of the diffusion decoder settings (torch-free).
#include "decoders/diffusion/diffusion_config.h"

#include <set>

#include "core/error.h"

namespace stepwise {
namespace {

void validate_sampling(const SamplingParams& sampling) {
  check(sampling.temperature >= 0.0, "diffusion: temperature must be >= 0, got ", sampling.temperature);
  if (sampling.top_p) check(*sampling.top_p > 0.0 && *sampling.top_p <= 1.0, "diffusion: top_p must be in (0, 1]");
  if (sampling.top_k) check(*sampling.top_k >= 1, "diffusion: top_k must be >= 1");
}

void validate_fixed(const std::vector<FixedToken>& fixed) {
  std::set<int64_t> seen;
  for (const FixedToken& entry : fixed) {
    check(entry.position >= 0, "diffusion: fixed position ", entry.position, " is negative");
    check(entry.token >= 0, "diffusion: fixed token ", entry.token, " is negative");
    check(seen.insert(entry.position).second, "diffusion: position ", entry.position, " is fixed twice");
  }
}

}  // namespace

void validate(const DiffusionConfig& config) {
  check(config.steps >= 1, "diffusion: steps must be >= 1, got ", config.steps);
  check(config.eps > 0.0 && config.eps < 1.0, "diffusion: eps must be in (0, 1), got ", config.eps);
  if (config.block_length) check(*config.block_length >= 1, "diffusion: block_length must be >= 1");
  if (config.alg_temp)
    check(*config.alg_temp > 0.0, "diffusion: alg_temp must be > 0 (omit it for deterministic top-k)");
  if (config.cfg_scale) check(*config.cfg_scale > 0.0, "diffusion: cfg_scale must be > 0 (omit it for no guidance)");
  validate_sampling(config.sampling);
  validate_fixed(config.fixed);
  if (config.selection == Selection::kOrigin) {
    check(config.schedule == Schedule::kDreamTimeGrid,
          "diffusion: selection 'origin' reveals with Dream's time-grid probabilities; use schedule "
          "'dream_time_grid'");
    check(!config.threshold, "diffusion: threshold needs a confidence score; 'origin' has none");
    check(!config.alg_temp, "diffusion: alg_temp needs a confidence score; 'origin' has none");
  }
  if (is_llada_selection(config.selection))
    check(!config.sampling.top_p && !config.sampling.top_k, "diffusion: selection '", to_string(config.selection),
          "' follows LLaDA's token choice (Gumbel noise with a temperature); top_p / top_k are not supported");
  if (config.threshold) {
    check(*config.threshold > 0.0, "diffusion: threshold must be > 0, got ", *config.threshold);
    check(!config.alg_temp, "diffusion: threshold decoding is deterministic in its positions; drop alg_temp");
  }
}

RemaskingConfig study_remasking_config() {
  RemaskingConfig config;
  config.steps = 20;
  config.schedule = RemaskSchedule::kLinear;
  config.noise_scale = 0.5;
  return config;
}

void validate(const RemaskingConfig& config) {
  check(config.steps >= 1, "remasking: steps must be >= 1, got ", config.steps);
  if (config.noise_scale) check(*config.noise_scale > 0.0, "remasking: noise scale must be > 0");
  validate_fixed(config.fixed);
}

std::string to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::kDreamTimeGrid:
      return "dream_time_grid";
    case Schedule::kLladaEvenSplit:
      return "llada_even_split";
    case Schedule::kCosine:
      return "cosine";
  }
  return "?";
}

std::string to_string(Selection selection) {
  switch (selection) {
    case Selection::kOrigin:
      return "origin";
    case Selection::kMaskgitPlus:
      return "maskgit_plus";
    case Selection::kTopkMargin:
      return "topk_margin";
    case Selection::kEntropy:
      return "entropy";
    case Selection::kLowConfidence:
      return "low_confidence";
    case Selection::kRandom:
      return "random";
  }
  return "?";
}

std::string to_string(CacheMode mode) {
  switch (mode) {
    case CacheMode::kNone:
      return "none";
    case CacheMode::kPrefix:
      return "prefix";
    case CacheMode::kDual:
      return "dual";
  }
  return "?";
}

std::string to_string(RemaskSchedule schedule) { return schedule == RemaskSchedule::kLinear ? "linear" : "cosine"; }

Schedule parse_schedule(const std::string& name) {
  for (Schedule s : {Schedule::kDreamTimeGrid, Schedule::kLladaEvenSplit, Schedule::kCosine})
    if (name == to_string(s)) return s;
  fail("unknown schedule '", name, "' (expected dream_time_grid, llada_even_split or cosine)");
}

Selection parse_selection(const std::string& name) {
  for (Selection s : {Selection::kOrigin, Selection::kMaskgitPlus, Selection::kTopkMargin, Selection::kEntropy,
                      Selection::kLowConfidence, Selection::kRandom})
    if (name == to_string(s)) return s;
  fail("unknown selection '", name,
       "' (expected origin, maskgit_plus, topk_margin, entropy, low_confidence or random)");
}

CacheMode parse_cache_mode(const std::string& name) {
  for (CacheMode m : {CacheMode::kNone, CacheMode::kPrefix, CacheMode::kDual})
    if (name == to_string(m)) return m;
  fail("unknown cache mode '", name, "' (expected none, prefix or dual)");
}

RemaskSchedule parse_remask_schedule(const std::string& name) {
  if (name == "linear") return RemaskSchedule::kLinear;
  if (name == "cosine") return RemaskSchedule::kCosine;
  fail("unknown remasking schedule '", name, "' (expected linear or cosine)");
}

bool ranks_by_confidence(Selection selection) { return selection != Selection::kOrigin; }

bool is_llada_selection(Selection selection) {
  return selection == Selection::kLowConfidence || selection == Selection::kRandom;
}

}  // namespace stepwise
