// The file of `stepwise serve --config FILE.yaml`: a `models:` section and a `decoders:` list read by the
// experiment files' own readers (runner::parse_model, runner::parse_decoder_spec), so a decoder block
// means the same in both. Each decoder is served under its `name` (the `model` a request names); several
// may share one model. Models are checkpoint paths (a `train:` or `from:` model is an error here). Errors
// name the file, line and key path. Torch-free.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "experiments/runner/decoder_spec.h"
#include "experiments/runner/experiment_spec.h"

namespace stepwise::serve {

struct ServedDecoderSpec {
  runner::DecoderSpec spec;  // parsed and validated
  YAML::Node block;          // the block as written, to apply a request's decoder settings to
  std::string location;      // "file:line: decoders[i]", for errors in those settings
};

struct ServeConfig {
  std::string file;
  std::map<std::string, runner::ModelSpec> models;  // each with a path
  std::vector<ServedDecoderSpec> decoders;          // in file order, names distinct
};

ServeConfig load_serve_config(const std::string& file);
ServeConfig parse_serve_config(const std::string& yaml_text, const std::string& file);

// The decoder `served` with `settings` (key -> YAML value text) replacing or adding keys of its block,
// parsed and validated as a block of the file; errors name the setting ("steps: expected ...").
runner::DecoderSpec with_settings(const ServedDecoderSpec& served, const std::map<std::string, std::string>& settings);

}  // namespace stepwise::serve
