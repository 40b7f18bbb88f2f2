// Names, parsing and validation of the objective settings.
#include "experiments/training/objective_options.h"

#include <cmath>

#include "core/error.h"

namespace stepwise::training {

DiffusionOptions paper_diffusion_options() { return DiffusionOptions{}; }

DiffusionOptions llada_diffusion_options() {
  DiffusionOptions options;
  options.schedule = NoiseSchedule::kContinuous;
  options.weighting = LossWeighting::kInverseRate;
  options.normalization = LossNormalization::kTargetTokens;
  return options;
}

DiffusionOptions mgdm_diffusion_options(double gamma) {
  DiffusionOptions options = paper_diffusion_options();
  options.weighting = LossWeighting::kLinear;
  options.token_reweighting = TokenReweighting{kMgdmAlpha, gamma};
  return options;
}

std::string objective_kind_name(ObjectiveKind kind) {
  return kind == ObjectiveKind::kAutoregressive ? "ar" : "diffusion";
}

ObjectiveKind parse_objective_kind(const std::string& name) {
  if (name == "ar") return ObjectiveKind::kAutoregressive;
  if (name == "diffusion") return ObjectiveKind::kDiffusion;
  fail("unknown objective '", name, "' (expected ar or diffusion)");
}

std::string noise_schedule_name(NoiseSchedule schedule) {
  return schedule == NoiseSchedule::kDiscrete ? "discrete" : "continuous";
}

NoiseSchedule parse_noise_schedule(const std::string& name) {
  if (name == "discrete") return NoiseSchedule::kDiscrete;
  if (name == "continuous") return NoiseSchedule::kContinuous;
  fail("unknown noise schedule '", name, "' (expected discrete or continuous)");
}

std::string loss_weighting_name(LossWeighting weighting) {
  switch (weighting) {
    case LossWeighting::kNone: return "none";
    case LossWeighting::kInverseRate: return "inverse-rate";
    case LossWeighting::kLinear: return "linear";
  }
  return "?";
}

LossWeighting parse_loss_weighting(const std::string& name) {
  if (name == "none") return LossWeighting::kNone;
  if (name == "inverse-rate") return LossWeighting::kInverseRate;
  if (name == "linear") return LossWeighting::kLinear;
  fail("unknown loss weighting '", name, "' (expected none, inverse-rate or linear)");
}

std::string loss_normalization_name(LossNormalization normalization) {
  return normalization == LossNormalization::kMaskedTokens ? "masked-tokens" : "target-tokens";
}

LossNormalization parse_loss_normalization(const std::string& name) {
  if (name == "masked-tokens") return LossNormalization::kMaskedTokens;
  if (name == "target-tokens") return LossNormalization::kTargetTokens;
  fail("unknown loss normalization '", name, "' (expected masked-tokens or target-tokens)");
}

void validate_diffusion_options(const DiffusionOptions& options) {
  check(options.timesteps >= 1, "diffusion timesteps must be at least 1, got ", options.timesteps);
  check(options.eps > 0.0 && options.eps < 1.0, "diffusion eps must lie in (0, 1), got ", options.eps);
  check(!(options.weighting == LossWeighting::kLinear && options.schedule == NoiseSchedule::kContinuous),
        "linear loss weighting needs the discrete noise schedule");
  check(options.mask_token_id >= 0, "mask token id must be non-negative, got ", options.mask_token_id);
  if (options.block_length)
    check(*options.block_length >= 1, "block diffusion block length must be at least 1, got ", *options.block_length);
  check(!options.complementary_masks || options.block_length.has_value(),
        "complementary masks are a block-diffusion setting (set a block length)");
  if (options.token_reweighting) {
    const TokenReweighting& r = *options.token_reweighting;
    check(std::isfinite(r.alpha) && r.alpha > 0.0, "token reweighting alpha must be positive, got ", r.alpha);
    check(std::isfinite(r.gamma) && r.gamma >= 0.0, "token reweighting gamma must be non-negative, got ", r.gamma);
  }
}

}  // namespace stepwise::training
