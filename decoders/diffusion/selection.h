// Selection rules of the diffusion decoders, applied to one row's candidate positions (its masked
// positions in the current block): propose a token and a confidence for each (Dream's sample_tokens,
// LLaDA's Gumbel argmax), then pick which to commit (top-n, alg_temp sampling, Fast-dLLM threshold, or
// Dream's independent `origin` reveals). Randomness only from the row's own generator.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "core/tensor/sampling_params.h"
#include "decoders/diffusion/diffusion_config.h"

namespace stepwise {

struct Proposal {
  torch::Tensor tokens;      // (M,) int64: the token each candidate would take
  torch::Tensor confidence;  // (M,) float32: higher = commit earlier
};

// logits (M, V) float32 of one row's candidates. Dream rules (kMaskgitPlus, kTopkMargin, kEntropy):
// temperature, top-p, top-k, softmax, then x0 = argmax or a draw, confidence from those probabilities.
// LLaDA rules (kLowConfidence, kRandom): x0 = argmax(add_gumbel_noise(logits, temperature)),
// confidence = softmax(logits)[x0] in float32, or U(0, 1). Not for kOrigin. Rows are processed in
// fixed chunks, so large vocabularies never need (M, V)-sized temporaries.
Proposal propose(const torch::Tensor& logits, Selection selection, const SamplingParams& sampling,
                 at::Generator& generator);

// Indices (n,) into the M candidates: the n most confident (alg_temp nullopt), or
// multinomial(softmax(confidence / alg_temp), n) without replacement as Dream does.
torch::Tensor pick_most_confident(const torch::Tensor& confidence, int64_t n, std::optional<double> alg_temp,
                                  at::Generator& generator);

// Fast-dLLM: indices of every candidate with confidence >= threshold, always including the most
// confident one.
torch::Tensor pick_above_threshold(const torch::Tensor& confidence, double threshold);

struct Reveal {
  torch::Tensor picked;  // (n,) int64 indices into the M candidates
  torch::Tensor tokens;  // (n,) int64 tokens for them
};

// Dream's `origin`: each candidate independently revealed when U(0,1) < probability; the revealed ones
// take a token from sample_tokens (greedy argmax of the probabilities at temperature 0).
Reveal reveal_independently(const torch::Tensor& logits, float probability, const SamplingParams& sampling,
                            at::Generator& generator);

}  // namespace stepwise
