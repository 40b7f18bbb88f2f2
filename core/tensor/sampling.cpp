// Sampling and confidence scores.
#include "core/tensor/sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <limits>

namespace stepwise {

at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

torch::Tensor filter_logits(const torch::Tensor& logits, const SamplingParams& params) {
  torch::Tensor out = logits.to(torch::kFloat32);
  if (params.temperature > 0.0) out = out / params.temperature;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (params.top_p.has_value() && *params.top_p < 1.0) {
    auto [sorted, order] = out.sort(-1, /*descending=*/true);
    torch::Tensor cumulative = torch::softmax(sorted, -1).cumsum(-1);
    torch::Tensor remove_sorted = cumulative > *params.top_p;
    // Shift right so the token that crosses p is kept; the top token is always kept.
    remove_sorted = torch::cat({torch::zeros_like(remove_sorted.narrow(-1, 0, 1)),
                                remove_sorted.narrow(-1, 0, remove_sorted.size(-1) - 1)},
                               -1);
    torch::Tensor remove = torch::zeros_like(remove_sorted).scatter(-1, order, remove_sorted);
    out = out.masked_fill(remove, neg_inf);
  }
  if (params.top_k.has_value()) {
    const int64_t k = std::min<int64_t>(*params.top_k, out.size(-1));
    if (k > 0) {
      torch::Tensor kth = std::get<0>(out.topk(k, -1)).narrow(-1, k - 1, 1);
      out = out.masked_fill(out < kth, neg_inf);
    }
  }
  return out;
}

torch::Tensor probabilities(const torch::Tensor& logits, const SamplingParams& params) {
  return torch::softmax(filter_logits(logits, params), -1);
}

torch::Tensor sample_from(const torch::Tensor& probs, at::Generator& generator) {
  torch::Tensor cpu = probs.to(torch::kCPU, torch::kFloat32);
  torch::Tensor drawn = torch::multinomial(cpu, 1, /*replacement=*/true, generator).squeeze(-1);
  return drawn.to(probs.device());
}

torch::Tensor choose_tokens(const torch::Tensor& logits, const SamplingParams& params, at::Generator& generator) {
  if (params.greedy()) return logits.argmax(-1);
  return sample_from(probabilities(logits, params), generator);
}

torch::Tensor confidence(const torch::Tensor& probs, ConfidenceKind kind, const torch::Tensor& token) {
  switch (kind) {
    case ConfidenceKind::kMaxProb: {
      if (token.defined()) return probs.gather(-1, token.unsqueeze(-1)).squeeze(-1);
      return std::get<0>(probs.max(-1));
    }
    case ConfidenceKind::kMargin: {
      torch::Tensor top2 = std::get<0>(probs.topk(2, -1));
      return top2.select(-1, 0) - top2.select(-1, 1);
    }
    case ConfidenceKind::kNegEntropy:
      return (probs * torch::log(probs + 1e-10)).sum(-1);
  }
  TORCH_INTERNAL_ASSERT(false, "unknown confidence kind");
}

torch::Tensor add_gumbel_noise(const torch::Tensor& logits, double temperature, at::Generator& generator) {
  if (temperature == 0.0) return logits;
  torch::Tensor wide = logits.to(torch::kFloat64);
  torch::Tensor uniform = at::rand(wide.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat64))
                              .to(wide.device());
  torch::Tensor gumbel = torch::pow(-torch::log(uniform), temperature);
  return wide.exp() / gumbel;
}

}  // namespace stepwise
