// The decoder flags of `stepwise generate`, generated from the decoder key table (runner/decoder_keys.h):
// `--decoder TYPE` with the strategy names of experiment files, one flag per key (`--draft-length K`,
// `--adaptive`, `--no-use-cache`, ...) and `--set key=VALUE` with the YAML key and a YAML value. The
// flags become a decoder block read by the experiment files' own reader, so a command line and a YAML
// block with the same settings give the same DecoderSpec. The older names (`--decoder dream | llada |
// remask`, `--gen-len`, `--no-cache`, `--ignore-eos`, `--draft`, `--remasking`, `--remask`,
// `--remask-noise`) still work and print a one-line deprecation note each.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "experiments/terminal/cli_args.h"
#include "decoders/decoder.h"
#include "experiments/runner/decoder_spec.h"

namespace stepwise {
class PrefixReuse;
class Transformer;
}

namespace stepwise::cli {

// The model name the spec's `model` holds; a draft model is named by its checkpoint directory.
inline const std::string kCliModel = "model";

// --decoder, every key's flag, --set, the deprecated spellings and --trace.
void add_decoder_flags(ArgParser& parser);

// The spec the parsed flags describe; deprecation notes go to `notes` (stderr in the CLI). Bad input
// throws stepwise::Error naming the flag.
runner::DecoderSpec decoder_spec_from_flags(const ArgParser& parser, std::ostream& notes);

// Builds the spec's decoder on `model` (a draft model is loaded in its dtype, on its device). The
// spec's gen_length replaces each request's max_new_tokens, and --trace puts the per-step history and
// commit steps into the stats. `reuse` (optional, bound to `model`) goes to decoders that can use it.
std::unique_ptr<Decoder> make_cli_decoder(const runner::DecoderSpec& spec, const ArgParser& parser,
                                          std::shared_ptr<const Transformer> model,
                                          std::shared_ptr<PrefixReuse> reuse = nullptr);

}  // namespace stepwise::cli
