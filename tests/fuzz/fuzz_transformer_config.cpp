// Fuzz target: a Hugging Face config.json read by load_transformer_config. It either yields a validated
// TransformerConfig or throws stepwise::Error (naming the file); a config that loads survives being
// written back and read again unchanged.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "models/transformer_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string path = fuzz::scratch_dir() + "/config.json";
  fuzz::write_bytes(path, data, size);
  TransformerConfig config;
  try {
    config = load_transformer_config(path);
  } catch (const Error&) {
    return 0;
  }
  // Written back and read again: the same config (non-finite numbers have no JSON form; skipped).
  if (!std::isfinite(config.rope_theta) || !std::isfinite(config.rms_norm_eps)) return 0;
  const nlohmann::json written = transformer_config_to_json(config);
  const TransformerConfig again = parse_transformer_config(written, path);
  FUZZ_EXPECT(transformer_config_to_json(again) == written);
  return 0;
}
