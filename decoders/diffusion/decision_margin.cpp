// Decision margins of one diffusion step (decision_margin.h).
#include "decoders/diffusion/decision_margin.h"

#include <torch/torch.h>

#include <vector>

namespace stepwise {
namespace {

// gap / sensitivity, where a zero sensitivity (a probability of exactly 0 or 1) cannot move: infinite.
torch::Tensor in_logit_units(const torch::Tensor& gap, const torch::Tensor& sensitivity) {
  return torch::where(sensitivity > 0, gap.abs() / sensitivity, torch::full_like(gap, INFINITY));
}

}  // namespace

torch::Tensor confidence_sensitivity(const torch::Tensor& probs, Selection selection) {
  switch (selection) {
    case Selection::kMaskgitPlus:
    case Selection::kLowConfidence: {
      const torch::Tensor p = std::get<0>(probs.max(-1));
      return 2.0 * p * (1.0 - p);
    }
    case Selection::kTopkMargin: {
      const torch::Tensor top = std::get<0>(probs.topk(2, -1));  // (M, 2)
      const torch::Tensor p1 = top.select(1, 0), p2 = top.select(1, 1);
      return p1 * (1.0 - p1 + p2) + p2 * (1.0 + p1 - p2) + (1.0 - p1 - p2).clamp_min(0.0) * (p1 - p2);
    }
    case Selection::kEntropy: {
      const torch::Tensor log_p = torch::log(probs.clamp_min(1e-300));
      const torch::Tensor entropy = -(probs * log_p).sum(-1, /*keepdim=*/true);  // (M, 1)
      return (probs * (log_p + entropy).abs()).sum(-1);
    }
    default:
      break;
  }
  TORCH_CHECK(false, "decision margins: selection ", to_string(selection), " is not a confidence order");
}

DecisionMargins decision_margins(const torch::Tensor& logits, const torch::Tensor& confidence,
                                 const torch::Tensor& picked, std::optional<double> threshold, Selection selection) {
  DecisionMargins out;
  const int64_t candidates = confidence.size(0);
  if (candidates == 0) return out;
  const torch::Tensor values = logits.to(torch::kCPU, torch::kFloat64);  // (M, V)
  out.logit_scale = values.abs().max().item<double>();
  const torch::Tensor picked_cpu = picked.to(torch::kCPU);
  const torch::Tensor chosen_rows = values.index_select(0, picked_cpu);  // (n, V)
  if (chosen_rows.size(0) > 0 && values.size(1) > 1) {
    const torch::Tensor top_two = std::get<0>(chosen_rows.topk(2, -1));  // (n, 2)
    out.token = (top_two.select(1, 0) - top_two.select(1, 1)).min().item<double>();
  }

  const torch::Tensor score = confidence.to(torch::kCPU, torch::kFloat64);                         // (M,)
  const torch::Tensor sensitivity = confidence_sensitivity(torch::softmax(values, -1), selection);  // (M,)
  if (threshold) {
    // Every candidate's side of the threshold decides; with none above it, the most confident one is
    // committed alone, decided by its lead over the runner-up as well.
    out.order = in_logit_units(score - *threshold, sensitivity).min().item<double>();
    if (!(score >= *threshold).any().item<bool>() && candidates > 1) {
      const auto [best, index] = score.topk(2);
      const torch::Tensor pair_sensitivity = sensitivity.index_select(0, index).sum().view({1});
      out.order = std::min(out.order, in_logit_units((best[0] - best[1]).view({1}), pair_sensitivity).item<double>());
    }
    return out;
  }
  torch::Tensor is_picked = torch::zeros({candidates}, torch::kBool);
  is_picked.index_fill_(0, picked_cpu, true);
  const torch::Tensor left = (~is_picked).nonzero().view({-1});
  if (picked_cpu.numel() == 0 || left.numel() == 0) return out;
  // Every committed a against every candidate b left masked: (n, M - n).
  const torch::Tensor gaps = score.index_select(0, picked_cpu).unsqueeze(1) - score.index_select(0, left).unsqueeze(0);
  const torch::Tensor pair_sensitivity =
      sensitivity.index_select(0, picked_cpu).unsqueeze(1) + sensitivity.index_select(0, left).unsqueeze(0);
  out.order = in_logit_units(gaps, pair_sensitivity).min().item<double>();
  return out;
}

}  // namespace stepwise
