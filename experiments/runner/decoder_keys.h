// The settings a decoder block may hold, as one table: for every key its name (as YAML writes it), the
// strategies it belongs to, how the command line spells it and its help text. The YAML reader
// (decoder_spec.cpp) accepts exactly these keys per strategy, `stepwise generate` generates its decoder
// flags and `--set key=value` from it, and docs/decoders.md lists it. Defaults are not here: they
// belong to the reader, the one place that turns these keys into settings. Torch- and YAML-free.
#pragma once

#include <string>
#include <vector>

namespace stepwise::runner {

// How `stepwise generate` spells a key (every key is also `--set key=VALUE`, VALUE in YAML syntax).
enum class FlagForm {
  kValue,        // --key-name VALUE (underscores become dashes)
  kSwitchOn,     // --key-name sets the boolean to true (keys that default to false)
  kSwitchOff,    // --no-key-name sets the boolean to false (keys that default to true)
  kIntegerList,  // --key-name 1,2,3
  kFixedList,    // --fixed POS:ID,POS:ID (a list of {position, token})
  kNone,         // experiments only (no meaning for one prompt): neither a flag nor --set
};

struct DecoderKey {
  std::string name;                // the YAML key, e.g. "draft_length"
  std::vector<std::string> types;  // strategies it belongs to: ar | speculative | diffusion | remasking | block_diffusion
  FlagForm form = FlagForm::kValue;
  std::string value_name;  // placeholder in --help, e.g. "N"
  std::string help;
};

// Every decoder setting except name, type and model, in the order --help and the docs list them.
const std::vector<DecoderKey>& decoder_keys();

// The entry for a YAML key, or nullptr.
const DecoderKey* find_decoder_key(const std::string& name);

bool key_applies_to(const DecoderKey& key, const std::string& type);

// The command-line flag of a key without the leading dashes: "draft-length", "adaptive", "no-use-cache";
// empty for FlagForm::kNone.
std::string flag_name(const DecoderKey& key);

}  // namespace stepwise::runner
