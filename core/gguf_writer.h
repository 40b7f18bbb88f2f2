// Writing GGUF version 3 files: typed metadata in the order added, then tensor infos and a data section
// aligned to 32 bytes (the default alignment, so general.alignment is not written). Tensor bytes are
// produced one tensor at a time at write time, so a model is never held twice in memory. The file is
// written atomically (core/atomic_file.h). Torch-free; the reader is core/gguf_file.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/gguf_file.h"

namespace stepwise {

class GgufWriter {
 public:
  void add_uint32(const std::string& key, uint32_t value);
  void add_int32(const std::string& key, int32_t value);
  void add_float32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_string(const std::string& key, const std::string& value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_int32_array(const std::string& key, const std::vector<int32_t>& values);
  void add_float32_array(const std::string& key, const std::vector<float>& values);

  // A tensor of torch-order `shape` (written reversed, ggml order) and `type`; `encode` fills exactly
  // the tensor's byte size (elements / block * block bytes) when the file is written. The last
  // dimension must be a multiple of the type's block.
  using Encoder = std::function<void(uint8_t* out)>;
  void add_tensor(const std::string& name, const std::vector<int64_t>& shape, GgmlType type, Encoder encode);

  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    GgmlType type;
    uint64_t bytes;
    Encoder encode;
  };
  void add_key(const std::string& key, GgufValueType type);

  std::vector<uint8_t> metadata_;  // encoded key/value pairs
  uint64_t metadata_count_ = 0;
  std::vector<std::string> keys_;
  std::vector<Tensor> tensors_;
};

}  // namespace stepwise
