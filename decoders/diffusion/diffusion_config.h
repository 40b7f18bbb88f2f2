// Settings of the masked-diffusion decoders, as plain data (torch-free): which reveal schedule, which
// selection rule, blocks, confidence threshold, KV-cache mode, guidance, token sampling and fixed spans.
// Every choice is an explicit enum; optional settings are std::optional, never sentinel values.
// validate() checks the combinations once, so decoders can rely on them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor/sampling_params.h"

namespace stepwise {

// How many masked positions a step reveals (see schedule.h for the arithmetic).
enum class Schedule {
  kDreamTimeGrid,   // Dream: t = linspace(1, eps, steps+1) in float32, n = int(masked * (1 - s/t))
  kLladaEvenSplit,  // LLaDA: the block's masked count split evenly, remainder on the first steps
  kCosine,          // MaskGIT: floor(masked0 * cos(pi/2 * (i+1)/steps)) stay masked after step i
};

// Which masked positions a step reveals and how their tokens are chosen (see selection.h).
enum class Selection {
  kOrigin,         // Dream: each masked position independently with probability 1 - s/t
  kMaskgitPlus,    // Dream: confidence = p(x0)
  kTopkMargin,     // Dream: confidence = p_top1 - p_top2
  kEntropy,        // Dream: confidence = sum p log(p + 1e-10) (negative entropy)
  kLowConfidence,  // LLaDA: x0 = argmax of Gumbel-perturbed logits (float64), confidence = softmax(logits)[x0]
  kRandom,         // LLaDA: x0 as kLowConfidence, confidence ~ U(0, 1)
};

// Fast-dLLM's approximate KV cache, refreshed by a full forward at the first step of every block.
enum class CacheMode {
  kNone,    // every step is a full forward of the canvas
  kPrefix,  // later steps of a block feed [block_start:] against the cached prefix
  kDual,    // later steps feed only the block; prefix and suffix both stay cached
};

// A token given in advance (infilling): `position` counts from the first generated position.
struct FixedToken {
  int64_t position = 0;
  int64_t token = 0;
};

struct DiffusionConfig {
  int64_t steps = 1;  // forward passes of the schedule over the whole generation (split over blocks)
  Schedule schedule = Schedule::kDreamTimeGrid;
  Selection selection = Selection::kMaskgitPlus;
  double eps = 1e-3;                    // end of Dream's time grid (kDreamTimeGrid, kOrigin)
  std::optional<int64_t> block_length;  // semi-autoregressive blocks; nullopt = one block
  // Fast-dLLM parallel decoding: commit every masked block position whose confidence >= threshold, and
  // at least the most confident one; the block runs until it has no mask left (`steps` is not used).
  std::optional<double> threshold;
  std::optional<double> alg_temp;   // choose positions by multinomial(softmax(conf / alg_temp), n)
  std::optional<double> cfg_scale;  // guidance: un + (cfg_scale + 1)(cond - un); 2 forwards per step
  CacheMode cache = CacheMode::kNone;
  SamplingParams sampling;        // token choice (kLowConfidence / kRandom: temperature only)
  std::vector<FixedToken> fixed;  // pre-filled positions, never changed
};

// The "Beyond Autoregression" remasking schedule: the share of generation positions re-masked after step k.
enum class RemaskSchedule {
  kLinear,  // rate = t / T with t = T-1-k
  kCosine,  // rate = cos((T - t) / T * pi/2)
};

struct RemaskingConfig {
  int64_t steps = 20;  // T forward passes
  RemaskSchedule schedule = RemaskSchedule::kLinear;
  // Gumbel noise added to the log-prob scores before choosing what to re-mask, scaled by
  // noise_scale * rate ("stochastic0.5" = 0.5); nullopt = deterministic.
  std::optional<double> noise_scale;
  std::vector<FixedToken> fixed;
};

// The study's evaluation setting (HKUNLP diffusion-vs-ar scripts: `--decoding_strategy
// stochastic0.5-linear --diffusion_steps 20`): T = 20, linear schedule, Gumbel noise scale 0.5.
RemaskingConfig study_remasking_config();

// Throws stepwise::Error naming the offending setting.
void validate(const DiffusionConfig& config);
void validate(const RemaskingConfig& config);

std::string to_string(Schedule schedule);
std::string to_string(Selection selection);
std::string to_string(CacheMode mode);
std::string to_string(RemaskSchedule schedule);
// Parse the names to_string() prints; errors list the accepted names.
Schedule parse_schedule(const std::string& name);
Selection parse_selection(const std::string& name);
CacheMode parse_cache_mode(const std::string& name);
RemaskSchedule parse_remask_schedule(const std::string& name);

// Does this selection rank positions by a confidence score (everything except kOrigin)?
bool ranks_by_confidence(Selection selection);
// Is this one of LLaDA's rules (Gumbel token choice, temperature only)?
bool is_llada_selection(Selection selection);

}  // namespace stepwise
