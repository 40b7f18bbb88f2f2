// Builds the decoder a DecoderSpec describes, binding model names to loaded models: the one place
// where decoders are made, for experiments, `stepwise generate` and training alike. Each strategy is
// one case of a std::visit over the settings variant. A prefix reuse (bound to the decoder's model)
// goes to the decoders that can use it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "decoders/decoder.h"
#include "experiments/runner/decoder_spec.h"

namespace stepwise {
class PrefixReuse;
class Transformer;
}  // namespace stepwise

namespace stepwise::runner {

using ModelTable = std::map<std::string, std::shared_ptr<const Transformer>>;

// Whether a decoder of `spec` uses a prefix reuse: AR with use_cache, speculative (the target's prefill),
// and diffusion with cache prefix | dual and without guidance (decoders/prefix_reuse.h). Remasking
// decoders never do.
bool uses_prefix_reuse(const DecoderSpec& spec);

// Whether the decoder takes one sequence per request (speculative verification); the others decode batches.
bool decodes_one_sequence_at_a_time(const DecoderSpec& spec);

// `reuse` (optional) must be bound to spec.model; it is passed on only when uses_prefix_reuse(spec).
std::unique_ptr<Decoder> make_decoder(const DecoderSpec& spec, const ModelTable& models,
                                      std::shared_ptr<PrefixReuse> reuse = nullptr);

// A decoder that runs on `model` alone, bound to spec.model (training's decoders, builtin_decoders.h).
std::unique_ptr<Decoder> make_decoder(const DecoderSpec& spec, std::shared_ptr<const Transformer> model);

}  // namespace stepwise::runner
