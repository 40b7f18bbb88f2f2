// One entry of an experiment's `decoders:` list, parsed into the settings struct of its strategy.
// The strategy is always the explicit `type:` (ar | speculative | diffusion | remasking); keys that do
// not belong to that type are unknown-key errors. Torch-free: models are referred to by name and
// bound to loaded checkpoints only when the decoder is built (decoder_factory.h).
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <variant>

#include "decoders/ar_decoder.h"
#include "decoders/diffusion/diffusion_config.h"
#include "decoders/request_order.h"
#include "decoders/speculative_decoder.h"
#include "experiments/runner/yaml_reader.h"

namespace stepwise::runner {

struct SpeculativeSettings {
  SpeculativeConfig config;
  std::optional<std::string> draft_model;  // name of a model in `models:`
  std::optional<PromptLookup> prompt_lookup;  // or n-gram drafting
};

using DecoderSettings = std::variant<ArConfig, SpeculativeSettings, DiffusionConfig, RemaskingConfig>;

struct DecoderSpec {
  std::string name;
  std::string type;   // ar | speculative | diffusion | remasking
  std::string model;  // name of a model in `models:`
  std::optional<int64_t> gen_length;  // overrides the task's generation length
  RequestOrder request_order = RequestOrder::kFifo;  // order of the run's pending examples, batch by batch
  DecoderSettings settings;
  YAML::Node node;    // the block as written (with sweep values applied)

  // Every resolved setting of the strategy as text (for hashes and result attributes; name, type and
  // model are fields of their own). request_order appears only when it is not fifo, so run ids of
  // files written before the key existed stay the same.
  std::map<std::string, std::string> describe() const;
};

// Parses and validates one decoder block; errors name file, line and key path.
DecoderSpec parse_decoder_spec(const YamlReader& block);

}  // namespace stepwise::runner
