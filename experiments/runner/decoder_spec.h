// The one description of a decoder: which strategy (the alternative held in `settings`), the model it
// runs on and its settings. The YAML reader of experiment files, `stepwise generate` (which turns its
// flags into the same YAML keys) and training validation all produce a DecoderSpec; decoder_factory.h
// builds every decoder from one. The strategy is always the explicit `type:` (ar | speculative |
// diffusion | remasking | block_diffusion); keys that do not belong to that type are errors (decoder_keys.h lists them).
// Code that must treat strategies differently uses std::visit over `settings` with one case per
// alternative, so a new strategy fails to compile until every such place handles it. Torch-free: models
// are referred to by name and bound to loaded checkpoints only when the decoder is built.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "decoders/ar_decoder.h"
#include "decoders/diffusion/block_config.h"
#include "decoders/diffusion/diffusion_config.h"
#include "decoders/request_order.h"
#include "decoders/speculative_decoder.h"
#include "experiments/runner/yaml_reader.h"

namespace stepwise::runner {

struct SpeculativeSettings {
  SpeculativeConfig config;
  std::optional<std::string> draft_model;     // name of a model in `models:`
  std::optional<PromptLookup> prompt_lookup;  // or n-gram drafting
  int64_t draft_steps = 1;                    // forwards per proposal when the draft model is a diffusion model
};

// One alternative per strategy; its `type:` name is given by the reader (decoder_spec.cpp).
using DecoderSettings =
    std::variant<ArConfig, SpeculativeSettings, DiffusionConfig, RemaskingConfig, BlockDiffusionConfig>;

struct DecoderSpec {
  std::string name;
  std::string model;                  // name of a model in `models:`
  std::optional<int64_t> gen_length;  // overrides the task's generation length
  RequestOrder request_order = RequestOrder::kFifo;  // order of the run's pending examples, batch by batch
  DecoderSettings settings;

  // The strategy's `type:` name: ar | speculative | diffusion | remasking | block_diffusion.
  std::string type() const;
  // The models it runs: `model`, then the draft model of a speculative decoder.
  std::vector<std::string> model_names() const;
  // Every resolved setting of the strategy as text (for hashes and result attributes; name, type and
  // model are fields of their own). request_order appears only when it is not fifo, so run ids of
  // files written before the key existed stay the same.
  std::map<std::string, std::string> describe() const;
};

// Every strategy's `type:` name, in the order of DecoderSettings.
const std::vector<std::string>& decoder_types();

// Parses and validates one decoder block; errors name file, line and key path (or, for a block
// built from the command line, the flag: see YamlReader).
DecoderSpec parse_decoder_spec(const YamlReader& block);

}  // namespace stepwise::runner
