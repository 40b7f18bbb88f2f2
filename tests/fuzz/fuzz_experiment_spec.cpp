// Fuzz target: an experiment file (YAML) read by parse_experiment_spec and expanded into its runs. Parsing
// either yields a spec or throws stepwise::Error naming the file, line and key path; a spec that parses
// expands into exactly (product of each decoder's sweep axis lengths) x (seeds) runs, each with a run id.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "experiments/runner/experiment_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const runner::ExperimentSpec spec = runner::parse_experiment_spec(text, "fuzz.yaml");
    size_t expected = 0;
    for (const auto& decoder : spec.decoders) {
      size_t grid = 1;
      for (const auto& axis : spec.sweep)
        if (axis.decoder == decoder.name) grid *= axis.values.size();
      expected += grid * spec.seeds.size();
    }
    const auto runs = runner::expand_runs(spec);
    FUZZ_EXPECT(runs.size() == expected);
    for (const auto& run : runs) FUZZ_EXPECT(!run.run_id.empty());
  } catch (const Error&) {
  }
  return 0;
}
