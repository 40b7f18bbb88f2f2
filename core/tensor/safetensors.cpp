// Safetensors reader (mmap + validated header) and atomic writer. The file must be a regular one (a FIFO
// or directory is refused by type, never opened in a blocking way); header fields are type-checked, and
// the tensors' byte ranges must tile the data section in order, without overlap, gap or trailing bytes,
// as the format requires.
#include "core/tensor/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"

namespace stepwise {
namespace {

int64_t element_size_of(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return -1;
}

// The tensors' byte ranges tile the data section in order, as the format requires: no two overlap
// (a tensor aliasing another's bytes), none leaves a gap, and together they cover it to its end.
void check_tensor_layout(const std::string& path, const std::map<std::string, TensorInfo>& infos,
                         uint64_t data_size) {
  std::vector<std::pair<const std::string*, const TensorInfo*>> by_offset;
  for (const auto& [name, info] : infos)
    if (info.end > info.begin) by_offset.emplace_back(&name, &info);
  std::stable_sort(by_offset.begin(), by_offset.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  uint64_t covered = 0;  // end of the previous range
  const std::string* previous = nullptr;
  for (const auto& [name, info] : by_offset) {
    check(previous == nullptr || info->begin >= covered, path, ": tensor '", *name, "': bytes [", info->begin, ", ",
          info->end, ") overlap tensor '", (previous ? *previous : std::string()), "' (which ends at ", covered, ")");
    check(info->begin == covered, path, ": tensor '", *name, "' starts at byte ", info->begin,
          " of the data section, leaving bytes [", covered, ", ", info->begin, ") unused");
    covered = info->end;
    previous = name;
  }
  check(covered == data_size, path, ": the tensors end at byte ", covered, " of a data section of ", data_size,
        " bytes (trailing bytes belong to no tensor)");
}

}  // namespace

torch::ScalarType scalar_type_of(const std::string& dtype, const std::string& where) {
  if (dtype == "F32") return torch::kFloat32;
  if (dtype == "BF16") return torch::kBFloat16;
  if (dtype == "F16") return torch::kFloat16;
  if (dtype == "F64") return torch::kFloat64;
  if (dtype == "I64") return torch::kInt64;
  if (dtype == "I32") return torch::kInt32;
  if (dtype == "I16") return torch::kInt16;
  if (dtype == "I8") return torch::kInt8;
  if (dtype == "U8") return torch::kUInt8;
  if (dtype == "BOOL") return torch::kBool;
  fail(where, ": unsupported safetensors dtype '", dtype, "'");
}

std::string safetensors_dtype_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "F32";
    case torch::kBFloat16: return "BF16";
    case torch::kFloat16: return "F16";
    case torch::kFloat64: return "F64";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kInt16: return "I16";
    case torch::kInt8: return "I8";
    case torch::kUInt8: return "U8";
    case torch::kBool: return "BOOL";
    default: fail("safetensors: cannot store tensors of type ", c10::toString(type));
  }
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  fd_ = open_regular_file(path);  // a directory or FIFO is refused by type, never blocks
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    fail(path, ": cannot stat (", std::strerror(errno), ")");
  }
  file_size_ = static_cast<uint64_t>(st.st_size);
  if (file_size_ < 8) {
    ::close(fd_);
    fail(path, ": truncated file (", file_size_, " bytes, no header size)");
  }
  void* mapped = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (mapped == MAP_FAILED) {
    ::close(fd_);
    fail(path, ": cannot memory-map (", std::strerror(errno), ")");
  }
  mapped_ = static_cast<const uint8_t*>(mapped);

  try {
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | mapped_[i];
    check(header_size <= file_size_ - 8, path, ": header size ", header_size,
          " points past the end of the file (", file_size_, " bytes); the file is truncated or not safetensors");
    data_start_ = 8 + header_size;
    const nlohmann::json header =
        parse_json_input(std::string_view(reinterpret_cast<const char*>(mapped_ + 8), header_size), path + ": header");
    check(header.is_object(), path, ": header is not a JSON object");
    const uint64_t data_size = file_size_ - data_start_;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (entry.is_object())
          for (const auto& [key, value] : entry.items())
            if (value.is_string()) metadata_[key] = value.get<std::string>();
        continue;
      }
      const std::string where = path + ": tensor '" + name + "'";
      check(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                entry.contains("data_offsets"),
            where, ": header entry needs dtype, shape and data_offsets");
      TensorInfo info;
      check(entry["dtype"].is_string(), where, ": 'dtype' must be a string, got ", entry["dtype"].dump());
      info.dtype = entry["dtype"].get<std::string>();
      const int64_t element_size = element_size_of(info.dtype);
      check(element_size > 0, where, ": unsupported dtype '", info.dtype, "'");
      check(entry["shape"].is_array(), where, ": 'shape' must be an array of integers, got ", entry["shape"].dump());
      // The byte count is bounded by the data section, so a product past it is refused before it can overflow.
      uint64_t bytes = static_cast<uint64_t>(element_size);
      for (const auto& dim : entry["shape"]) {
        check(dim.is_number_unsigned(), where, ": bad shape entry ", dim.dump(), " (expected an integer >= 0)");
        const uint64_t extent = dim.get<uint64_t>();
        check(extent <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where, ": shape entry ",
              dim.dump(), " is past what a tensor extent can hold");
        check(extent == 0 || bytes == 0 || bytes <= data_size / extent, where, ": shape ", entry["shape"].dump(),
              " needs more bytes than the data section holds (", data_size, ")");
        bytes *= extent;
        info.shape.push_back(static_cast<int64_t>(extent));
      }
      const auto& offsets = entry["data_offsets"];
      check(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                offsets[1].is_number_unsigned(),
            where, ": data_offsets must be [begin, end] of non-negative integers, got ", offsets.dump());
      info.begin = offsets[0].get<uint64_t>();
      info.end = offsets[1].get<uint64_t>();
      check(info.begin <= info.end, where, ": data_offsets begin > end");
      check(info.end <= data_size, where, ": data ends at byte ", info.end, " but the data section holds only ",
            data_size, " bytes (truncated file?)");
      check(info.end - info.begin == bytes, where, ": byte range of ", info.end - info.begin,
            " does not match shape and dtype (", bytes, " bytes)");
      infos_.emplace(name, std::move(info));
    }
    check_tensor_layout(path, infos_, data_size);
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(mapped_), file_size_);
    ::close(fd_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (mapped_ != nullptr) ::munmap(const_cast<uint8_t*>(mapped_), file_size_);
  if (fd_ >= 0) ::close(fd_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& entry : infos_) out.push_back(entry.first);
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = infos_.find(name);
  check(it != infos_.end(), path_, ": no tensor named '", name, "'");
  return it->second;
}

torch::Tensor SafetensorsFile::load(const std::string& name) const {
  const TensorInfo& entry = info(name);
  const auto type = scalar_type_of(entry.dtype, path_ + ": tensor '" + name + "'");
  torch::Tensor out = torch::empty(entry.shape, torch::TensorOptions().dtype(type));
  if (entry.end > entry.begin)
    std::memcpy(out.data_ptr(), mapped_ + data_start_ + entry.begin, entry.end - entry.begin);
  return out;
}

torch::Tensor SafetensorsFile::load(const std::string& name, torch::ScalarType dtype) const {
  torch::Tensor stored = load(name);
  return stored.scalar_type() == dtype ? stored : stored.to(dtype);
}

TensorStore::TensorStore(const std::string& directory) : directory_(directory) {
  namespace fs = std::filesystem;
  std::error_code status_error;  // an over-long or unreadable path is reported, not thrown
  check(fs::is_directory(directory, status_error), directory, ": not a directory",
        status_error ? " (" + status_error.message() + ")" : "");
  const fs::path index_path = fs::path(directory) / "model.safetensors.index.json";
  const fs::path single_path = fs::path(directory) / "model.safetensors";
  if (fs::exists(index_path, status_error)) {
    const nlohmann::json index = parse_json_input(read_regular_file(index_path.string()), index_path.string());
    check(index.is_object(), index_path.string(), ": expected a JSON object");
    check(index.contains("weight_map") && index["weight_map"].is_object(), index_path.string(),
          ": missing object 'weight_map'");
    std::map<std::string, size_t> shard_index;
    for (const auto& [name, shard] : index["weight_map"].items()) {
      check(shard.is_string(), index_path.string(), ": weight_map['", name, "'] must be a shard file name, got ",
            shard.dump());
      const std::string shard_name = shard.get<std::string>();
      check(!shard_name.empty() && shard_name.find('/') == std::string::npos && shard_name != "." && shard_name != "..",
            index_path.string(), ": weight_map['", name, "'] names '", shard_name,
            "', which is not a file name in the checkpoint directory");
      auto it = shard_index.find(shard_name);
      if (it == shard_index.end()) {
        const fs::path shard_path = fs::path(directory) / shard_name;
        std::error_code error;  // e.g. a name longer than the file system allows
        check(fs::exists(shard_path, error), index_path.string(), ": tensor '", name, "' is in shard '", shard_name,
              "', which does not exist", error ? " (" + error.message() + ")" : std::string());
        files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
        it = shard_index.emplace(shard_name, files_.size() - 1).first;
      }
      check(files_[it->second]->contains(name), files_[it->second]->path(), ": tensor '", name,
            "' is listed in model.safetensors.index.json but not stored in this shard");
      file_of_[name] = it->second;
    }
    // Tensors stored in a shard but absent from the index are still part of the checkpoint.
    for (size_t i = 0; i < files_.size(); ++i)
      for (const auto& name : files_[i]->names())
        if (!file_of_.count(name)) file_of_[name] = i;
  } else {
    check(fs::exists(single_path, status_error), directory, ": no model.safetensors or model.safetensors.index.json");
    files_.push_back(std::make_unique<SafetensorsFile>(single_path.string()));
    for (const auto& name : files_[0]->names()) file_of_[name] = 0;
  }
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  for (const auto& entry : file_of_) out.push_back(entry.first);
  return out;
}

const TensorInfo& TensorStore::info(const std::string& name) const {
  auto it = file_of_.find(name);
  check(it != file_of_.end(), directory_, ": no tensor named '", name, "'");
  return files_[it->second]->info(name);
}

const std::string& TensorStore::file_of(const std::string& name) const {
  auto it = file_of_.find(name);
  check(it != file_of_.end(), directory_, ": no tensor named '", name, "'");
  return files_[it->second]->path();
}

torch::Tensor TensorStore::load(const std::string& name, torch::ScalarType dtype) const {
  auto it = file_of_.find(name);
  check(it != file_of_.end(), directory_, ": no tensor named '", name, "'");
  return files_[it->second]->load(name, dtype);
}

std::string TensorStore::stored_dtype() const {
  if (file_of_.empty()) return "F32";
  return info(file_of_.begin()->first).dtype;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> sorted;
  for (const auto& [name, tensor] : tensors) sorted.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : sorted) {
    check(!header.contains(name), path, ": duplicate tensor name '", name, "'");
    const uint64_t bytes = tensor.numel() * tensor.element_size();
    header[name] = {{"dtype", safetensors_dtype_of(tensor.scalar_type())},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned

  AtomicFile file(path);
  uint8_t size_bytes[8];
  uint64_t header_size = header_text.size();
  for (int i = 0; i < 8; ++i) size_bytes[i] = static_cast<uint8_t>(header_size >> (8 * i));
  file.write(size_bytes, 8);
  file.write(header_text.data(), header_text.size());
  for (const auto& [name, tensor] : sorted) file.write(tensor.data_ptr(), tensor.numel() * tensor.element_size());
  file.commit();
}

}  // namespace stepwise
