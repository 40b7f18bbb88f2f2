// Reading and writing the safetensors format (Hugging Face): an 8-byte little-endian header size,
// a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian tensor bytes.
// Reading memory-maps the file and validates every header entry against the file size before any
// tensor is touched; tensors are converted to the requested dtype on load. Sharded checkpoints
// (model.safetensors.index.json) are handled by TensorStore, which presents one name space.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stepwise {

struct TensorInfo {
  std::string dtype;           // safetensors dtype string: "F32", "BF16", "F16", ...
  std::vector<int64_t> shape;  // as stored
  uint64_t begin = 0;          // byte offsets inside the data section
  uint64_t end = 0;
};

// One memory-mapped .safetensors file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return infos_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A fresh tensor (CPU) holding `name` converted to `dtype`.
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const;
  // A fresh tensor (CPU) in the stored dtype.
  torch::Tensor load(const std::string& name) const;

 private:
  std::string path_;
  int fd_ = -1;
  const uint8_t* mapped_ = nullptr;  // whole file
  uint64_t file_size_ = 0;
  uint64_t data_start_ = 0;          // 8 + header size
  std::map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint directory: a single model.safetensors, or the shards listed by
// model.safetensors.index.json. Names are unique across shards.
class TensorStore {
 public:
  explicit TensorStore(const std::string& directory);

  const std::string& directory() const { return directory_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return file_of_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  // The file that holds `name` (for error messages).
  const std::string& file_of(const std::string& name) const;
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const;
  // Stored dtype of the first tensor (what the checkpoint was saved in).
  std::string stored_dtype() const;

 private:
  std::string directory_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> file_of_;  // tensor name -> index in files_
};

// Torch scalar type of a safetensors dtype string; throws stepwise::Error naming `where` if unsupported.
torch::ScalarType scalar_type_of(const std::string& safetensors_dtype, const std::string& where);
// Safetensors dtype string of a torch scalar type.
std::string safetensors_dtype_of(torch::ScalarType type);

// Writes `tensors` (any device, contiguous or not) to `path` atomically: a temporary file in the same
// directory is renamed over `path` only once complete.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace stepwise
