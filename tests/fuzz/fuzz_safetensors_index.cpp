// Fuzz target: model.safetensors.index.json of a sharded checkpoint. The input is the index file; the
// directory also holds two small valid shards (written once), so an index naming them opens them. The
// store either opens or throws stepwise::Error; when it opens, every name resolves to a shard holding it.
// Index values of the wrong JSON type are stepwise::Error too, never the JSON library's own exception.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>

#include "core/error.h"
#include "core/tensor/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

const std::string& checkpoint_dir() {
  static const std::string dir = [] {
    const std::string path = stepwise::fuzz::scratch_dir() + "/checkpoint";
    std::filesystem::create_directories(path);
    stepwise::write_safetensors(path + "/model-00001-of-00002.safetensors",
                                {{"embed.weight", torch::arange(6, torch::kFloat32).reshape({2, 3})},
                                 {"norm.weight", torch::ones({3})}});
    stepwise::write_safetensors(path + "/model-00002-of-00002.safetensors",
                                {{"head.weight", torch::zeros({3, 2}, torch::kBFloat16)}});
    return path;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string& dir = checkpoint_dir();
  fuzz::write_bytes(dir + "/model.safetensors.index.json", data, size);
  try {
    TensorStore store(dir);
    for (const auto& name : store.names()) {
      FUZZ_EXPECT(store.contains(name));
      const torch::Tensor tensor = store.load(name, torch::kFloat32);
      FUZZ_EXPECT(tensor.sizes().vec() == store.info(name).shape);
    }
  } catch (const Error&) {
  }
  return 0;
}
