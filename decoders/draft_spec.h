// Which draft source a speculative decoder uses: a second model (causal or masked diffusion) or prompt lookup. A plain description,
// torch-free, included by the speculative decoder (which is configured with it) and by the draft
// sources (which are built from it), so neither header needs the other.
#pragma once

#include <cstdint>
#include <memory>
#include <variant>

namespace stepwise {

class Transformer;

// A second model proposes tokens (sampling from its own q with the same SamplingParams). A causal model
// drafts one token per forward; a masked-diffusion model (a mask token and no causal mask: full-sequence
// or block diffusion, told apart by its config) proposes all k in `diffusion_steps` forwards
// (diffusion_draft.h).
struct DraftModel {
  std::shared_ptr<const Transformer> model;
  int64_t diffusion_steps = 1;  // forwards per proposal of a diffusion draft (unused by a causal one)
};
// Prompt lookup: the last n tokens (n from max_ngram down to min_ngram) are searched earlier in the
// context; the first (earliest) match's continuation is proposed as point-mass drafts.
struct PromptLookup {
  int64_t max_ngram = 3;
  int64_t min_ngram = 1;
};
using DraftSpec = std::variant<DraftModel, PromptLookup>;

}  // namespace stepwise
