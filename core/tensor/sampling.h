// Token choice from logits: temperature, top-p and top-k filtering, greedy or seeded sampling,
// per-position confidence scores (max probability, top-1/top-2 margin, negative entropy) and the
// float64 Gumbel-max trick LLaDA uses. Randomness only ever comes from an explicit torch::Generator.
// Filtering order follows Dream's sampler: temperature, then top-p, then top-k.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "core/tensor/sampling_params.h"

namespace stepwise {

enum class ConfidenceKind { kMaxProb, kMargin, kNegEntropy };

// A CPU generator seeded with `seed`.
at::Generator make_generator(uint64_t seed);

// logits (N, V) -> float32 logits (N, V) after temperature, top-p and top-k (filtered entries = -inf).
torch::Tensor filter_logits(const torch::Tensor& logits, const SamplingParams& params);

// Probabilities (N, V) float32 of the filtered logits.
torch::Tensor probabilities(const torch::Tensor& logits, const SamplingParams& params);

// One draw per row from probs (N, V); (N,) int64 on probs' device. The draw happens on the CPU so the
// same seed gives the same tokens on every device.
torch::Tensor sample_from(const torch::Tensor& probs, at::Generator& generator);

// Greedy argmax when params.greedy(), otherwise a draw from probabilities(): (N,) int64.
torch::Tensor choose_tokens(const torch::Tensor& logits, const SamplingParams& params, at::Generator& generator);

// Confidence of each row of probs (N, V), (N,) float32: p(token) for kMaxProb (token given, or the
// argmax when undefined), p_top1 - p_top2 for kMargin, sum p log(p + 1e-10) for kNegEntropy.
torch::Tensor confidence(const torch::Tensor& probs, ConfidenceKind kind, const torch::Tensor& token = {});

// LLaDA's Gumbel-max perturbation in float64: exp(logits) / (-log u)^temperature, u ~ U(0,1).
// temperature 0 returns the logits unchanged. Returns float64 (N, V) (or logits' dtype at T = 0).
torch::Tensor add_gumbel_noise(const torch::Tensor& logits, double temperature, at::Generator& generator);

}  // namespace stepwise
