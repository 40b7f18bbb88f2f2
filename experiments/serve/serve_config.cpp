// Reading the serve config file with the experiment file's model and decoder readers.
#include "experiments/serve/serve_config.h"

#include "experiments/runner/yaml_reader.h"

namespace stepwise::serve {

namespace {

ServeConfig parse(const runner::YamlReader& root) {
  ServeConfig config;
  config.file = root.file();
  runner::YamlReader models = root.child("models");
  for (const auto& name : models.keys()) {
    runner::ModelSpec model = runner::parse_model(name, models.child(name));
    if (!model.path)
      models.child(name).fail_at(model.train ? "train" : "from",
                                 "stepwise serve loads checkpoints: give the model a path (train or quantize it first)");
    config.models.emplace(name, std::move(model));
  }
  models.finish();
  const auto blocks = root.children("decoders");
  if (blocks.empty()) root.fail_at("decoders", "expected a list with at least one decoder");
  for (const auto& block : blocks) {
    ServedDecoderSpec served;
    served.spec = runner::parse_decoder_spec(block);
    served.block = YAML::Clone(block.node());
    served.location = block.location();
    for (const auto& other : config.decoders)
      if (other.spec.name == served.spec.name)
        block.fail_at("name", "decoder name '" + served.spec.name + "' is used twice");
    const std::vector<std::string> model_names = served.spec.model_names();
    for (size_t m = 0; m < model_names.size(); ++m)
      if (!config.models.count(model_names[m]))
        block.fail_at(m == 0 ? "model" : "draft_model", "no model named '" + model_names[m] + "' in models:");
    config.decoders.push_back(std::move(served));
  }
  root.finish();
  return config;
}

}  // namespace

ServeConfig parse_serve_config(const std::string& yaml_text, const std::string& file) {
  return parse(runner::YamlReader::load_string(yaml_text, file));
}

ServeConfig load_serve_config(const std::string& file) { return parse(runner::YamlReader::load_file(file)); }

runner::DecoderSpec with_settings(const ServedDecoderSpec& served, const std::map<std::string, std::string>& settings) {
  YAML::Node block = YAML::Clone(served.block);
  for (const auto& [key, value] : settings) block[key] = YAML::Load(value);
  // No file: errors name each setting by its key, as a request body spells it.
  std::map<std::string, std::string> labels;
  for (const auto& [key, value] : settings) labels.emplace(key, key);
  return runner::parse_decoder_spec(runner::YamlReader(block, "", "", labels));
}

}  // namespace stepwise::serve
