// Training's decoders as decoder blocks.
#include "experiments/runner/builtin_decoders.h"

#include <sstream>

namespace stepwise::runner {
namespace {

// `settings` are the block's lines after name and model, in YAML.
DecoderSpec builtin(const std::string& name, const std::string& settings) {
  const YamlReader block = YamlReader::load_string("name: " + name + "\nmodel: " + kBuiltinModel + "\n" + settings,
                                                   "built-in decoder " + name);
  return parse_decoder_spec(block);
}

std::string stop_ids_line(const std::vector<int64_t>& stop_ids) {
  if (stop_ids.empty()) return "";
  std::string line = "stop_ids: [";
  for (size_t i = 0; i < stop_ids.size(); ++i) line += (i ? ", " : "") + std::to_string(stop_ids[i]);
  return line + "]\n";
}

}  // namespace

DecoderSpec ar_greedy_spec(const std::vector<int64_t>& stop_ids) {
  return builtin("ar-greedy", "type: ar\ntemperature: 0\n" + stop_ids_line(stop_ids));
}

DecoderSpec dream_entropy_spec(int64_t steps) {
  return builtin("dream-entropy-T" + std::to_string(steps),
                 "type: diffusion\nalg: entropy\nsteps: " + std::to_string(steps) + "\n");
}

DecoderSpec remasking_spec(int64_t steps) {
  return builtin("remasking-T" + std::to_string(steps), "type: remasking\nsteps: " + std::to_string(steps) + "\n");
}

DecoderSpec block_diffusion_spec(int64_t block_length, int64_t steps_per_block) {
  const std::string block = std::to_string(block_length), steps = std::to_string(steps_per_block);
  return builtin("block-L" + block + "-S" + steps,
                 "type: block_diffusion\nalg: entropy\nschedule: llada_even_split\nblock_length: " + block +
                     "\nsteps_per_block: " + steps + "\n");
}

DecoderSpec block_threshold_spec(int64_t block_length, double threshold) {
  std::ostringstream tau;
  tau << threshold;
  const std::string block = std::to_string(block_length);
  return builtin("block-L" + block + "-threshold" + tau.str(), "type: block_diffusion\nalg: maskgit_plus\nblock_length: " +
                                                                   block + "\nthreshold: " + tau.str() + "\n");
}

DecoderSpec study_remasking_spec() {
  return builtin("remasking-study-T20", "type: remasking\nsteps: 20\nschedule: linear\nnoise_scale: 0.5\n");
}

}  // namespace stepwise::runner
