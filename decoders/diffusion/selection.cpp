// Token proposals and position picking for the diffusion decoders.
#include "decoders/diffusion/selection.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "core/tensor/sampling.h"

namespace stepwise {
namespace {

// Dream's sample_tokens: (x0, p) with x0 the argmax of probs or a draw from them.
std::pair<torch::Tensor, torch::Tensor> dream_tokens(const torch::Tensor& probs, const SamplingParams& sampling,
                                                     at::Generator& generator) {
  if (sampling.greedy()) {
    auto [best, index] = probs.max(-1);
    return {index, best};
  }
  torch::Tensor drawn = sample_from(probs, generator);  // (M,)
  return {drawn, probs.gather(-1, drawn.unsqueeze(-1)).squeeze(-1)};
}

// Rows per call of propose_rows: keeps each (rows, V) temporary small enough to be recycled by the
// allocator (at a 152k vocabulary, 16 rows of float32 are 9.7 MB) instead of freshly mapped every step.
constexpr int64_t kRowsPerChunk = 16;

Proposal propose_rows(const torch::Tensor& logits, Selection selection, const SamplingParams& sampling,
                      at::Generator& generator) {
  if (is_llada_selection(selection)) {
    torch::Tensor noisy = add_gumbel_noise(logits, sampling.temperature, generator);  // (M, V)
    torch::Tensor tokens = noisy.argmax(-1);
    torch::Tensor confidence;
    if (selection == Selection::kLowConfidence) {
      confidence = torch::softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
    } else {
      confidence = at::rand({logits.size(0)}, generator, torch::TensorOptions().dtype(torch::kFloat32));
    }
    return {tokens, confidence.to(torch::kFloat32)};
  }
  torch::Tensor probs = probabilities(logits, sampling);  // (M, V) float32
  auto [tokens, chosen_prob] = dream_tokens(probs, sampling, generator);
  switch (selection) {
    case Selection::kMaskgitPlus:
      return {tokens, chosen_prob};
    case Selection::kTopkMargin:
      return {tokens, confidence(probs, ConfidenceKind::kMargin)};
    case Selection::kEntropy:
      return {tokens, confidence(probs, ConfidenceKind::kNegEntropy)};
    default:
      break;
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled selection ", to_string(selection));
}

}  // namespace

Proposal propose(const torch::Tensor& logits, Selection selection, const SamplingParams& sampling,
                 at::Generator& generator) {
  TORCH_INTERNAL_ASSERT(logits.dim() == 2 && selection != Selection::kOrigin);
  const int64_t rows = logits.size(0);
  if (rows <= kRowsPerChunk) return propose_rows(logits, selection, sampling, generator);
  std::vector<torch::Tensor> tokens, confidence;
  for (int64_t start = 0; start < rows; start += kRowsPerChunk) {
    Proposal part =
        propose_rows(logits.narrow(0, start, std::min(kRowsPerChunk, rows - start)), selection, sampling, generator);
    tokens.push_back(part.tokens);
    confidence.push_back(part.confidence);
  }
  return {torch::cat(tokens), torch::cat(confidence)};
}

torch::Tensor pick_most_confident(const torch::Tensor& confidence, int64_t n, std::optional<double> alg_temp,
                                  at::Generator& generator) {
  const int64_t candidates = confidence.size(0);
  TORCH_INTERNAL_ASSERT(n >= 0 && n <= candidates);
  if (n == 0) return torch::empty({0}, torch::kInt64);
  if (!alg_temp) return std::get<1>(confidence.topk(n));
  if (n == candidates) return torch::arange(candidates, torch::kInt64);
  torch::Tensor weights = torch::softmax(confidence / *alg_temp, -1);
  return torch::multinomial(weights, n, /*replacement=*/false, generator);
}

torch::Tensor pick_above_threshold(const torch::Tensor& confidence, double threshold) {
  TORCH_INTERNAL_ASSERT(confidence.size(0) > 0);
  torch::Tensor above = (confidence >= threshold).nonzero().view({-1});
  if (above.numel() > 0) return above;
  return confidence.argmax().view({1});
}

Reveal reveal_independently(const torch::Tensor& logits, float probability, const SamplingParams& sampling,
                            at::Generator& generator) {
  torch::Tensor uniform = at::rand({logits.size(0)}, generator, torch::TensorOptions().dtype(torch::kFloat32));
  torch::Tensor picked = (uniform < probability).nonzero().view({-1});
  if (picked.numel() == 0) return {picked, torch::empty({0}, torch::kInt64)};
  torch::Tensor probs = probabilities(logits.index_select(0, picked), sampling);
  return {picked, dream_tokens(probs, sampling, generator).first};
}

}  // namespace stepwise
