// How far one step of a deterministic diffusion decode was from choosing differently, in logit units:
// the chosen tokens' logit lead over the best other token, and the smallest change of the logits that
// could reorder the committed positions against the rule's boundary (the positions left masked, or the
// threshold). Another evaluation order (batch shape, cache layout, BLAS kernel) moves logits by rounding
// only; a step whose margins exceed what that rounding can move cannot flip. Recorded with
// DecodeRequest::record_trace.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>

#include "decoders/diffusion/diffusion_config.h"

namespace at {
class Tensor;
}

namespace stepwise {

struct DecisionMargins {
  double token = INFINITY;   // smallest (chosen logit - best other logit) over the committed positions
  double order = INFINITY;   // smallest logit change (max over the vocabulary) that could move a commit
  double logit_scale = 0.0;  // largest |logit| of the candidates (what rounding is relative to)

  void merge(const DecisionMargins& other) {
    token = std::min(token, other.token);
    order = std::min(order, other.order);
    logit_scale = std::max(logit_scale, other.logit_scale);
  }
};

// How much `selection`'s confidence moves, to first order, when every logit of the row moves by at most
// one: sum over the vocabulary of |d confidence / d logit|. probs (M, V) float64 -> (M,) float64.
// A probability p (maskgit_plus, low_confidence) 2 p (1 - p); the top-two margin p1 - p2 (topk_margin)
// p1 (1 - p1 + p2) + p2 (1 + p1 - p2) + (1 - p1 - p2)(p1 - p2); the negative entropy (entropy)
// sum_j p_j |log p_j + H|.
at::Tensor confidence_sensitivity(const at::Tensor& probs, Selection selection);

// logits (M, V) of one row's candidates (as the rule saw them, before temperature; greedy rules only),
// confidence (M,), picked (n,) indices into the candidates that were committed; `threshold` when the
// rule was Fast-dLLM's (confidence >= threshold, or the single most confident candidate when none
// reaches it), otherwise the n most confident were taken. The order margin is, over every committed a
// and left-masked b, (c_a - c_b) / (s_a + s_b), or over every candidate |c - threshold| / s, with s the
// confidence_sensitivity: the smallest uniform logit change that could flip a choice, to first order.
DecisionMargins decision_margins(const at::Tensor& logits, const at::Tensor& confidence, const at::Tensor& picked,
                                 std::optional<double> threshold, Selection selection);

}  // namespace stepwise
