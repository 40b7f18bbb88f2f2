// Fuzz target: one .safetensors file (header size, JSON header, data section). Opening either succeeds or
// throws stepwise::Error; every tensor of a file that opened loads, with as many bytes as its shape and
// dtype say. Header values of the wrong JSON type are stepwise::Error too, never the JSON library's own
// exception.
#include <cstdint>

#include "core/error.h"
#include "core/tensor/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string path = fuzz::scratch_dir() + "/model.safetensors";
  fuzz::write_bytes(path, data, size);
  try {
    SafetensorsFile file(path);
    for (const auto& name : file.names()) {
      const TensorInfo& info = file.info(name);
      const torch::Tensor tensor = file.load(name);
      FUZZ_EXPECT(tensor.sizes().vec() == info.shape);
      FUZZ_EXPECT(static_cast<uint64_t>(tensor.nbytes()) == info.end - info.begin);
    }
  } catch (const Error&) {
  }
  return 0;
}
