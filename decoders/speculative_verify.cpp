// Greedy and lossless sampled verification of draft tokens (vocabulary in speculative_verify.h).
#include "decoders/speculative_verify.h"

#include <torch/torch.h>

#include "core/tensor/sampling.h"

namespace stepwise {

Verification verify_greedy(const torch::Tensor& target_logits, const std::vector<int64_t>& draft) {
  const int64_t k = static_cast<int64_t>(draft.size());
  TORCH_INTERNAL_ASSERT(target_logits.dim() == 2 && target_logits.size(0) == k + 1);
  torch::Tensor best = target_logits.argmax(-1).to(torch::kCPU);  // (k+1)
  auto best_at = best.accessor<int64_t, 1>();
  int64_t accepted = 0;
  while (accepted < k && draft[static_cast<size_t>(accepted)] == best_at[accepted]) ++accepted;
  return {accepted, best_at[accepted], accepted == k};
}

Verification verify_sampled(const torch::Tensor& target_probs, const std::vector<int64_t>& draft,
                            const torch::Tensor& draft_probs, at::Generator& generator) {
  const int64_t k = static_cast<int64_t>(draft.size());
  TORCH_INTERNAL_ASSERT(target_probs.dim() == 2 && target_probs.size(0) == k + 1);
  // Ratios and residuals in float64 so that p == q (draft == target) accepts up to rounding only.
  torch::Tensor p = target_probs.to(torch::kCPU, torch::kFloat64);  // (k+1, V)
  torch::Tensor q;                                                  // (k, V) or undefined
  if (draft_probs.defined()) {
    TORCH_INTERNAL_ASSERT(draft_probs.dim() == 2 && draft_probs.size(0) == k && draft_probs.size(1) == p.size(1));
    q = draft_probs.to(torch::kCPU, torch::kFloat64);
  }
  auto p_at = p.accessor<double, 2>();
  const auto uniform_options = torch::TensorOptions().dtype(torch::kFloat64);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t token = draft[static_cast<size_t>(i)];
    const double p_token = p_at[i][token];
    const double q_token = q.defined() ? q[i][token].item<double>() : 1.0;
    const double u = at::rand({1}, generator, uniform_options).item<double>();
    if (u * q_token < p_token) continue;  // accepted: u < p/q
    // Recovered token from norm(max(0, p - q)); for a point mass q that is p without the draft token.
    torch::Tensor residual;  // (V)
    if (q.defined()) {
      residual = (p[i] - q[i]).clamp_min(0.0);
    } else {
      residual = p[i].clone();
      residual[token] = 0.0;
    }
    const double mass = residual.sum().item<double>();
    // mass == 0 only when p == q up to rounding, where a rejection has probability ~0: fall back to p.
    if (!(mass > 0.0)) residual = p[i];
    return {i, sample_from((residual / residual.sum()).unsqueeze(0), generator).item<int64_t>(), false};
  }
  return {k, sample_from(p[k].unsqueeze(0), generator).item<int64_t>(), true};
}

}  // namespace stepwise
