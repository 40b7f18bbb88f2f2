// How closely a quantized model follows its full-precision original: mean KL(reference || quantized)
// of the next-token (or, for diffusion models, per-position) distributions and the fraction of
// positions whose most likely token agrees, over the same input sequences.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "models/transformer.h"

namespace stepwise {

struct Fidelity {
  double mean_kl = 0.0;         // nats, averaged over positions
  double top1_agreement = 0.0;  // fraction of positions with the same argmax
  int64_t positions = 0;
};

// tokens (S, T) int64. Bidirectional models with a mask token see each sequence with its second half
// masked (a diffusion canvas), causal models the sequence itself; every position's logits count.
// Runs `batch` sequences per forward, fewer when a large vocabulary would make the logits too big.
Fidelity compare_models(const Transformer& reference, const Transformer& quantized, const torch::Tensor& tokens,
                        int64_t batch = 8);

}  // namespace stepwise
