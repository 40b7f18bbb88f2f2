// GGUF v3 encoder: little-endian fields, strings as uint64 length + bytes, arrays as element type +
// uint64 count + elements, tensor offsets padded to the 32-byte alignment.
#include "core/gguf_writer.h"

#include <algorithm>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"

namespace stepwise {
namespace {

constexpr uint64_t kAlignment = 32;

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

uint64_t padded(uint64_t size) { return (size + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

void GgufWriter::add_key(const std::string& key, GgufValueType type) {
  check(std::find(keys_.begin(), keys_.end(), key) == keys_.end(), "GGUF writer: duplicate key '", key, "'");
  keys_.push_back(key);
  put_string(metadata_, key);
  put<uint32_t>(metadata_, static_cast<uint32_t>(type));
  ++metadata_count_;
}

void GgufWriter::add_uint32(const std::string& key, uint32_t value) {
  add_key(key, GgufValueType::kUint32);
  put<uint32_t>(metadata_, value);
}
void GgufWriter::add_int32(const std::string& key, int32_t value) {
  add_key(key, GgufValueType::kInt32);
  put<int32_t>(metadata_, value);
}
void GgufWriter::add_float32(const std::string& key, float value) {
  add_key(key, GgufValueType::kFloat32);
  put<float>(metadata_, value);
}
void GgufWriter::add_bool(const std::string& key, bool value) {
  add_key(key, GgufValueType::kBool);
  put<uint8_t>(metadata_, value ? 1 : 0);
}
void GgufWriter::add_string(const std::string& key, const std::string& value) {
  add_key(key, GgufValueType::kString);
  put_string(metadata_, value);
}
void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  add_key(key, GgufValueType::kArray);
  put<uint32_t>(metadata_, static_cast<uint32_t>(GgufValueType::kString));
  put<uint64_t>(metadata_, values.size());
  for (const auto& v : values) put_string(metadata_, v);
}
void GgufWriter::add_int32_array(const std::string& key, const std::vector<int32_t>& values) {
  add_key(key, GgufValueType::kArray);
  put<uint32_t>(metadata_, static_cast<uint32_t>(GgufValueType::kInt32));
  put<uint64_t>(metadata_, values.size());
  for (int32_t v : values) put<int32_t>(metadata_, v);
}
void GgufWriter::add_float32_array(const std::string& key, const std::vector<float>& values) {
  add_key(key, GgufValueType::kArray);
  put<uint32_t>(metadata_, static_cast<uint32_t>(GgufValueType::kFloat32));
  put<uint64_t>(metadata_, values.size());
  for (float v : values) put<float>(metadata_, v);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& shape, GgmlType type,
                            Encoder encode) {
  for (const auto& t : tensors_) check(t.name != name, "GGUF writer: duplicate tensor '", name, "'");
  check(!shape.empty() && shape.size() <= 4, "GGUF writer: tensor '", name, "' has ", shape.size(),
        " dimensions (1 to 4)");
  int64_t elements = 1;
  for (int64_t d : shape) elements *= d;
  const int64_t block = ggml_block_elements(type);
  check(shape.back() % block == 0, "GGUF writer: tensor '", name, "': rows of ", shape.back(),
        " elements are not a multiple of the ", ggml_type_name(type), " block of ", block);
  tensors_.push_back(Tensor{name, shape, type,
                            static_cast<uint64_t>(elements / block * ggml_block_bytes(type)), std::move(encode)});
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> header;
  header.insert(header.end(), {'G', 'G', 'U', 'F'});
  put<uint32_t>(header, 3);
  put<uint64_t>(header, tensors_.size());
  put<uint64_t>(header, metadata_count_);
  header.insert(header.end(), metadata_.begin(), metadata_.end());
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(header, t.name);
    put<uint32_t>(header, static_cast<uint32_t>(t.shape.size()));
    for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) put<int64_t>(header, *d);  // ggml order
    put<uint32_t>(header, static_cast<uint32_t>(t.type));
    put<uint64_t>(header, offset);
    offset = padded(offset + t.bytes);
  }
  header.resize(padded(header.size()), 0);

  AtomicFile file(path);
  file.write(header.data(), header.size());
  std::vector<uint8_t> buffer;
  for (const auto& t : tensors_) {
    buffer.assign(padded(t.bytes), 0);
    t.encode(buffer.data());
    file.write(buffer.data(), buffer.size());
  }
  file.commit();
}

}  // namespace stepwise
