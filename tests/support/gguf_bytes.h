// Test helper: assembles GGUF files byte by byte (header fields, metadata, tensor infos, data) so tests
// can build valid files and every kind of broken one without going through the writer under test.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace stepwise::testing {

class GgufBytes {
 public:
  std::vector<uint8_t> bytes;

  template <typename T>
  GgufBytes& put(T value) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    bytes.insert(bytes.end(), raw, raw + sizeof(T));
    return *this;
  }
  GgufBytes& put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  // Magic, version, tensor count, metadata count.
  GgufBytes& header(uint32_t version, uint64_t tensors, uint64_t kvs) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return put<uint32_t>(version).put<uint64_t>(tensors).put<uint64_t>(kvs);
  }
  GgufBytes& kv_u32(const std::string& key, uint32_t v) { return put_string(key).put<uint32_t>(4).put<uint32_t>(v); }
  GgufBytes& kv_f32(const std::string& key, float v) { return put_string(key).put<uint32_t>(6).put<float>(v); }
  GgufBytes& kv_bool(const std::string& key, bool v) { return put_string(key).put<uint32_t>(7).put<uint8_t>(v); }
  GgufBytes& kv_string(const std::string& key, const std::string& v) {
    return put_string(key).put<uint32_t>(8).put_string(v);
  }
  GgufBytes& kv_string_array(const std::string& key, const std::vector<std::string>& v) {
    put_string(key).put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(v.size());
    for (const auto& s : v) put_string(s);
    return *this;
  }
  GgufBytes& kv_i32_array(const std::string& key, const std::vector<int32_t>& v) {
    put_string(key).put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(v.size());
    for (int32_t x : v) put<int32_t>(x);
    return *this;
  }
  // A tensor info: name, dims (ggml order), ggml type, offset in the data section.
  GgufBytes& tensor(const std::string& name, const std::vector<int64_t>& dims, uint32_t type, uint64_t offset) {
    put_string(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (int64_t d : dims) put<int64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  GgufBytes& pad_to(uint64_t alignment) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  GgufBytes& raw(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + size);
    return *this;
  }
  GgufBytes& zeros(size_t size) {
    bytes.insert(bytes.end(), size, 0);
    return *this;
  }
  void write(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
};

}  // namespace stepwise::testing
