// A masked-diffusion model as the draft source of speculative decoding (DiffuSpec, DFlash): the k draft
// positions are appended to the context as mask tokens and revealed left to right in `steps` forwards
// (an even split, the remainder on the first steps; one forward proposes all k when steps = 1). Each
// revealed position takes the argmax (greedy) or a draw from q = its distribution under the target's
// sampling settings at the forward that revealed it; tokens revealed by one forward are drawn
// independently given the same canvas. Because every position is drawn after all positions before it
// and no draw decides which positions are revealed, d_i ~ q_i given d_1..d_{i-1}: exactly what lossless
// verification needs. A block-diffusion draft (config bd_size) keeps the keys of its finished context
// blocks cached and follows the accepted prefix; a full-sequence draft sees the whole canvas and
// recomputes it.
#pragma once

#include <cstdint>
#include <memory>

#include "decoders/draft_source.h"

namespace stepwise {

class Transformer;

// Throws stepwise::Error when the model has no mask token or `steps` < 1.
std::unique_ptr<DraftSource> make_diffusion_draft(std::shared_ptr<const Transformer> model, int64_t steps);

}  // namespace stepwise
