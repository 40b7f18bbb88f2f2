// The training objectives and their settings, torch-free so command lines and configs can name them.
//   ar         next-token cross-entropy on the target tokens only (causal attention).
//   diffusion  masked diffusion on the target tokens (bidirectional attention, padding masked out):
//     "paper" form (diffusion-vs-AR study): t ~ U{0..T-1}, each target token masked with probability
//       (t+1)/T, cross-entropy on masked tokens averaged over the masked tokens, optional weighting;
//     "llada" form (LLaDA / MDLM): t ~ U(eps, 1], masked with probability t, weight 1/t, normalised by
//       the number of target tokens (an unbiased estimate of the per-token ELBO bound).
//   Logits are read Dream-style (output j-1 predicts token j) when shift_logits, else at j (LLaDA).
//   Block diffusion (block_length set; Fast-dLLM v2, SDAR): block-causal attention over blocks of that many
//     positions; each row draws one current block among those holding target tokens and masks target
//     tokens inside it only, so every scored prediction sees its own noised block and clean earlier ones,
//     as in block-by-block decoding (the token shift reads a block's first token from the clean block
//     before it); complementary_masks adds each row a second time with the complementary mask of its
//     current block, so every target token there is scored once per pair (Fast-dLLM v2).
//   MGDM ("Beyond Autoregression"'s multi-granularity diffusion): the paper form with each masked
//     token's cross-entropy l replaced by alpha * (1 - exp(-l))^gamma * l (token reweighting, the
//     weight not detached from the gradient, as in the study's trainer) and the linear time weight T - t.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace stepwise::training {

enum class ObjectiveKind { kAutoregressive, kDiffusion };
enum class NoiseSchedule {
  kDiscrete,    // t ~ U{0..T-1}, masking rate (t+1)/T
  kContinuous,  // t ~ U(eps, 1], masking rate t
};
enum class LossWeighting {
  kNone,         // every masked token weighs 1
  kInverseRate,  // 1 / masking rate: T/(t+1) discrete, 1/t continuous (MDLM / LLaDA ELBO weight)
  kLinear,       // T - t (discrete only; the study's "linear" option)
};
enum class LossNormalization {
  kMaskedTokens,  // divide by the number of masked target tokens in the batch (the study)
  kTargetTokens,  // divide by the number of target tokens in the batch (LLaDA)
};

// The study's token reweighting: l -> alpha * (1 - exp(-l))^gamma * l for every scored token.
struct TokenReweighting {
  double alpha = 0.25;
  double gamma = 1.0;
};

// The study's settings: alpha 0.25 everywhere; gamma 2 for Countdown, 1 for Sudoku, SAT and paths.
inline constexpr double kMgdmAlpha = 0.25;
inline constexpr double kMgdmGammaCountdown = 2.0;
inline constexpr double kMgdmGammaDefault = 1.0;

struct DiffusionOptions {
  NoiseSchedule schedule = NoiseSchedule::kDiscrete;
  int64_t timesteps = 20;  // T of the discrete schedule
  double eps = 1e-3;       // lower end of continuous t
  LossWeighting weighting = LossWeighting::kNone;
  LossNormalization normalization = LossNormalization::kMaskedTokens;
  bool shift_logits = true;    // Dream: output j-1 predicts token j
  int64_t mask_token_id = 2;   // [MASK] of the character vocabulary
  std::optional<TokenReweighting> token_reweighting;  // absent: plain cross-entropy per token
  std::optional<int64_t> block_length;  // block diffusion; absent: full-sequence (bidirectional) diffusion
  bool complementary_masks = false;     // block diffusion: each row also with its mask complemented
};

struct ObjectiveOptions {
  ObjectiveKind kind = ObjectiveKind::kAutoregressive;
  DiffusionOptions diffusion;  // used when kind == kDiffusion
};

// The named diffusion forms (mask id and logit shift left at their defaults). MGDM is the paper form
// with linear time weighting and token reweighting (alpha = kMgdmAlpha, the given gamma).
DiffusionOptions paper_diffusion_options();
DiffusionOptions llada_diffusion_options();
DiffusionOptions mgdm_diffusion_options(double gamma);

std::string objective_kind_name(ObjectiveKind kind);
ObjectiveKind parse_objective_kind(const std::string& name);  // "ar" | "diffusion"
std::string noise_schedule_name(NoiseSchedule schedule);
NoiseSchedule parse_noise_schedule(const std::string& name);  // "discrete" | "continuous"
std::string loss_weighting_name(LossWeighting weighting);
LossWeighting parse_loss_weighting(const std::string& name);  // "none" | "inverse-rate" | "linear"
std::string loss_normalization_name(LossNormalization normalization);
LossNormalization parse_loss_normalization(const std::string& name);  // "masked-tokens" | "target-tokens"

// Throws stepwise::Error naming the bad setting (timesteps < 1, eps outside (0, 1), linear weighting
// with the continuous schedule, negative mask id, token reweighting alpha <= 0 or gamma < 0, block
// length < 1, complementary masks without blocks).
void validate_diffusion_options(const DiffusionOptions& options);

}  // namespace stepwise::training
