// The `quantize:` block of a model in an experiment file: quantize the loaded or trained model's
// block linears (bits, group size, symmetric or not, rtn or autoround with its calibration settings)
// into a GPTQ-layout checkpoint cached under a hash of the block and the model it starts from, and
// run the experiment on that. Torch-free.
#pragma once

#include <cstdint>
#include <string>

#include "experiments/runner/yaml_reader.h"

namespace stepwise::runner {

struct QuantizeSpec {
  int bits = 4;                 // 4 | 8 (8 only symmetric)
  int64_t group_size = 128;
  bool sym = false;
  std::string method = "rtn";   // rtn | autoround
  // autoround: calibration sequences are task problems generated with `seed`, not evaluation ones
  int64_t iters = 200;
  int64_t samples = 128;
  int64_t seq_len = 512;
  int64_t batch_size = 8;
  uint64_t seed = 42;

  // Canonical text of every setting (cache key and run identity).
  std::string canonical_text() const;
  // Short form for results: "w4g128-asym-rtn".
  std::string label() const;
};

QuantizeSpec parse_quantize_spec(const YamlReader& block);

}  // namespace stepwise::runner
