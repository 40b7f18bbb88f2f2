// The runner's side of `quantize:` blocks: calibration sequences generated from the experiment's task
// (problems of the training split, seeded by the block, never the evaluated ones) in the model's own
// prompt format, and the quantized checkpoint written into a cache directory.
#pragma once

#include <string>

#include "core/tokenizer/tokenizer.h"
#include "experiments/runner/experiment_spec.h"

namespace stepwise {
class Transformer;
}

namespace stepwise::runner {

// Quantizes `base` (float32 weights) as `spec` says into `directory` (GPTQ layout). Text goes through
// `tokenizer`; the plain format (models trained here) uses the character vocabulary.
void quantize_for_task(const QuantizeSpec& spec, const TaskSpec& task, const Transformer& base,
                       const Tokenizer& tokenizer, const std::string& directory);

}  // namespace stepwise::runner
