// The decoders that training uses to judge a model (validation during `stepwise train` and `train:`
// blocks, and the final evaluation of `stepwise train`), written as decoder blocks and read by the same
// reader as experiment files, so they have the same names and defaults. Each runs on the model named
// kBuiltinModel; make_decoder(spec, model) (decoder_factory.h) binds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/runner/decoder_spec.h"

namespace stepwise::runner {

inline const std::string kBuiltinModel = "model";

// "ar-greedy": type ar, greedy; `stop_ids` empty = the model's EOS ids.
DecoderSpec ar_greedy_spec(const std::vector<int64_t>& stop_ids = {});
// "dream-entropy-T<steps>": type diffusion, alg entropy (Dream's time grid).
DecoderSpec dream_entropy_spec(int64_t steps);
// "remasking-T<steps>": type remasking, linear schedule, deterministic.
DecoderSpec remasking_spec(int64_t steps);
// "block-L<block>-S<steps>": type block_diffusion, alg entropy, `steps_per_block` forwards per block with
// LLaDA's even split of each sub-block's masked positions (one per step when steps = block length).
DecoderSpec block_diffusion_spec(int64_t block_length, int64_t steps_per_block);
// "block-L<block>-threshold<tau>": type block_diffusion, alg maskgit_plus, Fast-dLLM's threshold commits.
DecoderSpec block_threshold_spec(int64_t block_length, double threshold);
// "remasking-study-T20": the study's evaluation setting (study_remasking_config(): T = 20, linear, noise 0.5).
DecoderSpec study_remasking_spec();

}  // namespace stepwise::runner
