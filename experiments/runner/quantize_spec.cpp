// Parsing of `quantize:` blocks.
#include "experiments/runner/quantize_spec.h"

#include <sstream>

namespace stepwise::runner {

QuantizeSpec parse_quantize_spec(const YamlReader& block) {
  QuantizeSpec spec;
  spec.bits = static_cast<int>(block.integer("bits"));
  if (spec.bits != 4 && spec.bits != 8) block.fail_at("bits", "expected 4 or 8, got " + std::to_string(spec.bits));
  spec.group_size = block.integer("group_size", 128, 1, 1 << 20);
  spec.sym = block.boolean("sym", false);
  if (spec.bits == 8 && !spec.sym) block.fail_at("sym", "8-bit weights are symmetric (int8): set sym: true");
  spec.method = block.choice("method", {"rtn", "autoround"}, std::string("rtn"));
  for (const char* key : {"iters", "samples", "seq_len", "batch_size", "seed"})
    if (spec.method != "autoround" && block.has(key)) block.fail_at(key, "applies to method autoround only");
  spec.iters = block.integer("iters", 200, 1, 100000);
  spec.samples = block.integer("samples", 128, 1, 1 << 20);
  spec.seq_len = block.integer("seq_len", 512, 1, 1 << 20);
  spec.batch_size = block.integer("batch_size", 8, 1, 1 << 20);
  spec.seed = static_cast<uint64_t>(block.integer("seed", 42, 0));
  block.finish();
  return spec;
}

std::string QuantizeSpec::canonical_text() const {
  std::ostringstream out;
  out << "bits=" << bits << ";group=" << group_size << ";sym=" << (sym ? 1 : 0) << ";method=" << method;
  if (method == "autoround")
    out << ";iters=" << iters << ";samples=" << samples << ";seq_len=" << seq_len << ";batch=" << batch_size
        << ";seed=" << seed;
  return out.str();
}

std::string QuantizeSpec::label() const {
  return "w" + std::to_string(bits) + "g" + std::to_string(group_size) + (sym ? "-sym-" : "-asym-") + method;
}

}  // namespace stepwise::runner
