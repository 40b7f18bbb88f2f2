// Reading GGUF files (the llama.cpp model format, versions 2 and 3): a header with typed metadata
// key/values and tensor descriptions, then an aligned data section, memory-mapped here. Every count,
// length, shape and offset is checked against the file before anything is sized by it; a bad file is a
// stepwise::Error naming the file and the key or tensor. Typed getters refuse metadata of the wrong
// type. Dequantization lives in core/gguf_dequant.h; the mapping onto the transformer in
// models/gguf_checkpoint.h. Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stepwise {

// GGUF metadata value types, numbered as the format defines them.
enum class GgufValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7,
  kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
std::string gguf_value_type_name(GgufValueType type);

// One metadata value. Scalars use the member their type says. Arrays are not copied: they keep their
// element type, count and where their elements start in the file, and are decoded when asked for
// (GgufFile::string_array / integer_array / real_array), so no allocation is sized by the file.
struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  GgufValueType element_type = GgufValueType::kUint8;  // arrays only
  uint64_t unsigned_value = 0;   // kUint8 .. kUint64
  int64_t signed_value = 0;      // kInt8 .. kInt64
  double float_value = 0.0;      // kFloat64; kFloat32 as the shortest decimal that rounds to it
  bool bool_value = false;
  std::string string_value;
  uint64_t array_count = 0;   // arrays only
  uint64_t array_offset = 0;  // arrays only: file offset of the first element

  bool is_integer() const;
  bool is_float() const;
};

// ggml tensor types this reader accepts, numbered as ggml defines them.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8,
  kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kBF16 = 30,
};
std::string ggml_type_name(GgmlType type);
// Elements per block and bytes per block of `type` (1 and the element size for F32/F16/BF16).
int64_t ggml_block_elements(GgmlType type);
int64_t ggml_block_bytes(GgmlType type);
// The accepted type with ggml's name `name` ("f32", "q8_0", ... case-insensitive), if any.
std::optional<GgmlType> ggml_type_from_name(const std::string& name);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the contiguous one (torch shape reversed)
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;        // inside the data section
  uint64_t bytes = 0;
  int64_t elements() const;
  // Torch-order shape: dims reversed.
  std::vector<int64_t> shape() const;
};

// Whether `path` names a GGUF file (ends in ".gguf", any case): where a model directory is accepted,
// such a path is read as a GGUF file instead.
bool is_gguf_path(const std::string& path);

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  // Metadata, by key; keys in file order.
  const std::vector<std::string>& keys() const { return key_order_; }
  bool has(const std::string& key) const { return metadata_.count(key) > 0; }
  const GgufValue* find(const std::string& key) const;
  // Typed getters: a missing key or one of another type is an error naming the file and the key.
  // integer() accepts every integer type (and range-checks it into int64); real() f32 and f64.
  int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  bool boolean(const std::string& key) const;
  const std::string& string(const std::string& key) const;
  std::vector<std::string> string_array(const std::string& key) const;
  std::vector<int64_t> integer_array(const std::string& key) const;
  std::vector<double> real_array(const std::string& key) const;
  // Same, or nullopt when the key is absent (present with another type is still an error).
  std::optional<int64_t> optional_integer(const std::string& key) const;
  std::optional<double> optional_real(const std::string& key) const;
  std::optional<bool> optional_boolean(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;

  // Tensors, in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const { return tensor_index_.count(name) > 0; }
  const GgufTensorInfo& tensor(const std::string& name) const;
  // The tensor's bytes inside the mapping (valid while this object lives).
  const uint8_t* data(const GgufTensorInfo& info) const { return mapped_ + data_start_ + info.offset; }

 private:
  void parse();
  const GgufValue& array_of(const std::string& key) const;
  [[noreturn]] void wrong_type(const std::string& key, const GgufValue& value, const char* expected) const;

  std::string path_;
  int fd_ = -1;
  const uint8_t* mapped_ = nullptr;
  uint64_t file_size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;
  std::vector<std::string> key_order_;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace stepwise
