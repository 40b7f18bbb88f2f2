// One row's commits at one step of a masked-diffusion decode, shared by the full-sequence and the block
// decoder: propose a token and a confidence for each of the row's candidates (its masked positions in
// the current block), pick which to commit (top-n from the schedule, alg_temp sampling, a threshold, or
// Dream's independent `origin` reveals), write them into the row's canvas and note the commit steps
// (and, for deterministic rules with a trace, the decision margins).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

#include "decoders/diffusion/diffusion_config.h"
#include "decoders/diffusion/schedule.h"
#include "decoders/diffusion/step_trace.h"

namespace stepwise {

// What one row does at one step of one block.
struct RowStep {
  int64_t row = 0;
  int64_t step_in_block = 0;
  int64_t masked_at_start = 0;  // the row's masked positions in the block when it began
  int64_t step = 0;             // global forward-call index
};

// Commits some of the row's candidates under `config`'s selection, schedule count or threshold, alg_temp
// and sampling; returns how many. candidates (M,) canvas columns still masked, logits (M, V) for them,
// row_tokens (W,) the row of the canvas (written in place); generated position = column - gen_start.
int64_t commit_row(const DiffusionConfig& config, const RevealSchedule& schedule, const RowStep& at,
                   const torch::Tensor& candidates, const torch::Tensor& logits, at::Generator& generator,
                   torch::Tensor row_tokens, int64_t gen_start, StepTrace& trace);

}  // namespace stepwise
