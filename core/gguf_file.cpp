// GGUF reader: memory-maps the file and walks the header with a bounds-checked cursor. Nothing is
// allocated from a count or length before that count is checked against the bytes left in the file
// (each element of an array takes at least its minimum encoded size), so a 2^60-element array or a
// 2^62-byte string is refused, not attempted. Tensor infos are checked for known type, shape
// (at most 4 dims, row length a multiple of the block, no overflow), alignment, and a byte range inside
// the data section that overlaps no other tensor.
#include "core/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/regular_file.h"

namespace stepwise {
namespace {

constexpr uint64_t kMaxTensors = uint64_t{1} << 24;  // far above any model; bounded by file size too
constexpr uint32_t kMaxDims = 4;                     // ggml's GGML_MAX_DIMS

// Bounds-checked little-endian cursor over the mapped header.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, uint64_t size) : path_(path), data_(data), size_(size) {}
  uint64_t position() const { return position_; }
  uint64_t remaining() const { return size_ - position_; }
  void skip(uint64_t bytes) {
    need(bytes, "skipped bytes");
    position_ += bytes;
  }

  void need(uint64_t bytes, const std::string& what) const {
    check(bytes <= remaining(), path_, ": truncated header: ", what, " needs ", bytes, " bytes at offset ", position_,
          ", the file has ", remaining(), " left");
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + position_, sizeof(T));  // GGUF is little-endian, as is every supported host
    position_ += sizeof(T);
    return value;
  }
  std::string read_string(const std::string& what) {
    const uint64_t length = read<uint64_t>(what + " (length)");
    check(length <= remaining(), path_, ": ", what, ": string of ", length, " bytes at offset ", position_,
          " runs past the end of the file (", remaining(), " bytes left)");
    std::string value(reinterpret_cast<const char*>(data_ + position_), static_cast<size_t>(length));
    position_ += length;
    return value;
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t position_ = 0;
};

// Smallest encoded size of one value of `type` (arrays: type + count).
uint64_t minimum_encoded_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8: case GgufValueType::kInt8: case GgufValueType::kBool: return 1;
    case GgufValueType::kUint16: case GgufValueType::kInt16: return 2;
    case GgufValueType::kUint32: case GgufValueType::kInt32: case GgufValueType::kFloat32: return 4;
    case GgufValueType::kUint64: case GgufValueType::kInt64: case GgufValueType::kFloat64: return 8;
    case GgufValueType::kString: return 8;
    case GgufValueType::kArray: return 12;
  }
  return 1;
}

// A float32 value as the shortest decimal that rounds to it, in double precision: the value a writer
// converting from decimal text (a config.json's 1e-06) started from, rather than 9.99999997e-07.
double shortest_decimal(float value) {
  if (!std::isfinite(value)) return static_cast<double>(value);
  char text[64];
  const auto result = std::to_chars(text, text + sizeof(text), value);
  *result.ptr = '\0';
  return std::strtod(text, nullptr);
}

bool is_known_value_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufValueType::kFloat64); }

void read_scalar(Cursor& cursor, GgufValueType type, GgufValue& out, const std::string& what) {
  out.type = type;
  switch (type) {
    case GgufValueType::kUint8: out.unsigned_value = cursor.read<uint8_t>(what); break;
    case GgufValueType::kInt8: out.signed_value = cursor.read<int8_t>(what); break;
    case GgufValueType::kUint16: out.unsigned_value = cursor.read<uint16_t>(what); break;
    case GgufValueType::kInt16: out.signed_value = cursor.read<int16_t>(what); break;
    case GgufValueType::kUint32: out.unsigned_value = cursor.read<uint32_t>(what); break;
    case GgufValueType::kInt32: out.signed_value = cursor.read<int32_t>(what); break;
    case GgufValueType::kUint64: out.unsigned_value = cursor.read<uint64_t>(what); break;
    case GgufValueType::kInt64: out.signed_value = cursor.read<int64_t>(what); break;
    case GgufValueType::kFloat32: out.float_value = shortest_decimal(cursor.read<float>(what)); break;
    case GgufValueType::kFloat64: out.float_value = cursor.read<double>(what); break;
    case GgufValueType::kBool: {
      const uint8_t raw = cursor.read<uint8_t>(what);
      out.bool_value = raw != 0;
      break;
    }
    case GgufValueType::kString: out.string_value = cursor.read_string(what); break;
    case GgufValueType::kArray: break;  // handled by the caller
  }
}

bool is_accepted_tensor_type(uint32_t raw) {
  switch (raw) {
    case 0: case 1: case 2: case 3: case 6: case 7: case 8: case 12: case 13: case 14: case 30: return true;
    default: return false;
  }
}

// ggml's names of the types this reader does not accept, for a helpful error.
std::string other_ggml_type_name(uint32_t raw) {
  static const char* const kNames[] = {"f32", "f16", "q4_0", "q4_1", "q4_2", "q4_3", "q5_0", "q5_1", "q8_0",
                                       "q8_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs",
                                       "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8",
                                       "i16", "i32", "i64", "f64", "iq1_m", "bf16", "q4_0_4_4", "q4_0_4_8",
                                       "q4_0_8_8", "tq1_0", "tq2_0"};
  if (raw < sizeof(kNames) / sizeof(kNames[0])) return kNames[raw];
  return "";
}

bool multiply_checked(int64_t a, int64_t b, int64_t& out) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

std::string gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8: return "uint8";
    case GgufValueType::kInt8: return "int8";
    case GgufValueType::kUint16: return "uint16";
    case GgufValueType::kInt16: return "int16";
    case GgufValueType::kUint32: return "uint32";
    case GgufValueType::kInt32: return "int32";
    case GgufValueType::kFloat32: return "float32";
    case GgufValueType::kBool: return "bool";
    case GgufValueType::kString: return "string";
    case GgufValueType::kArray: return "array";
    case GgufValueType::kUint64: return "uint64";
    case GgufValueType::kInt64: return "int64";
    case GgufValueType::kFloat64: return "float64";
  }
  return "unknown";
}

namespace {
bool is_integer_type(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8: case GgufValueType::kInt8: case GgufValueType::kUint16: case GgufValueType::kInt16:
    case GgufValueType::kUint32: case GgufValueType::kInt32: case GgufValueType::kUint64: case GgufValueType::kInt64:
      return true;
    default: return false;
  }
}
}  // namespace

bool GgufValue::is_integer() const { return is_integer_type(type); }

bool GgufValue::is_float() const { return type == GgufValueType::kFloat32 || type == GgufValueType::kFloat64; }

std::string ggml_type_name(GgmlType type) { return other_ggml_type_name(static_cast<uint32_t>(type)); }

int64_t ggml_block_elements(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: case GgmlType::kF16: case GgmlType::kBF16: return 1;
    case GgmlType::kQ4_0: case GgmlType::kQ4_1: case GgmlType::kQ5_0: case GgmlType::kQ5_1: case GgmlType::kQ8_0:
      return 32;
    case GgmlType::kQ4_K: case GgmlType::kQ5_K: case GgmlType::kQ6_K: return 256;
  }
  return 1;
}

int64_t ggml_block_bytes(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return 4;
    case GgmlType::kF16: case GgmlType::kBF16: return 2;
    case GgmlType::kQ4_0: return 2 + 16;        // d, 32 nibbles
    case GgmlType::kQ4_1: return 2 + 2 + 16;    // d, m, 32 nibbles
    case GgmlType::kQ5_0: return 2 + 4 + 16;    // d, high bits, nibbles
    case GgmlType::kQ5_1: return 2 + 2 + 4 + 16;
    case GgmlType::kQ8_0: return 2 + 32;        // d, 32 int8
    case GgmlType::kQ4_K: return 2 + 2 + 12 + 128;        // d, dmin, 6-bit scales/mins, nibbles
    case GgmlType::kQ5_K: return 2 + 2 + 12 + 32 + 128;   // ... plus high bits
    case GgmlType::kQ6_K: return 128 + 64 + 16 + 2;       // low 4 bits, high 2 bits, int8 scales, d
  }
  return 1;
}

std::optional<GgmlType> ggml_type_from_name(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (uint32_t raw = 0; raw <= 30; ++raw) {
    if (!is_accepted_tensor_type(raw)) continue;
    std::string candidate = other_ggml_type_name(raw);
    for (char& c : candidate) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (candidate == lower) return static_cast<GgmlType>(raw);
  }
  return std::nullopt;
}

bool is_gguf_path(const std::string& path) {
  if (path.size() < 5) return false;
  std::string suffix = path.substr(path.size() - 5);
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return suffix == ".gguf";
}

int64_t GgufTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // overflow excluded when the file was read
  return n;
}

std::vector<int64_t> GgufTensorInfo::shape() const { return std::vector<int64_t>(dims.rbegin(), dims.rend()); }

GgufFile::GgufFile(const std::string& path) : path_(path) {
  fd_ = open_regular_file(path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int error = errno;
    ::close(fd_);
    fail(path, ": cannot stat (", std::strerror(error), ")");
  }
  file_size_ = static_cast<uint64_t>(st.st_size);
  if (file_size_ < 4) {
    ::close(fd_);
    fail(path, ": not a GGUF file (", file_size_, " bytes, no magic)");
  }
  void* mapped = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (mapped == MAP_FAILED) {
    const int error = errno;
    ::close(fd_);
    fail(path, ": cannot memory-map (", std::strerror(error), ")");
  }
  mapped_ = static_cast<const uint8_t*>(mapped);
  try {
    parse();
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(mapped_), file_size_);
    ::close(fd_);
    throw;
  }
}

GgufFile::~GgufFile() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(mapped_), file_size_);
  if (fd_ >= 0) ::close(fd_);
}

void GgufFile::parse() {
  Cursor cursor(path_, mapped_, file_size_);
  check(std::memcmp(mapped_, "GGUF", 4) == 0, path_, ": not a GGUF file (bad magic)");
  cursor.read<uint32_t>("magic");
  version_ = cursor.read<uint32_t>("version");
  check(version_ == 2 || version_ == 3, path_, ": unsupported GGUF version ", version_, " (2 and 3 are read)");
  const uint64_t tensor_count = cursor.read<uint64_t>("tensor count");
  const uint64_t kv_count = cursor.read<uint64_t>("metadata count");
  // A key/value takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least 8 + 4 + 4 + 8.
  check(kv_count <= cursor.remaining() / 13, path_, ": metadata count ", kv_count, " cannot fit in the ",
        cursor.remaining(), " bytes left");
  check(tensor_count <= kMaxTensors && tensor_count <= cursor.remaining() / 24, path_, ": tensor count ",
        tensor_count, " cannot fit in the file (", cursor.remaining(), " bytes left)");

  for (uint64_t k = 0; k < kv_count; ++k) {
    const std::string key = cursor.read_string("metadata key " + std::to_string(k));
    check(!key.empty(), path_, ": metadata key ", k, " is empty");
    check(metadata_.count(key) == 0, path_, ": duplicate metadata key '", key, "'");
    const uint32_t raw_type = cursor.read<uint32_t>("type of key '" + key + "'");
    check(is_known_value_type(raw_type), path_, ": key '", key, "' has unknown value type ", raw_type);
    GgufValue value;
    const auto type = static_cast<GgufValueType>(raw_type);
    const std::string what = "value of key '" + key + "'";
    if (type == GgufValueType::kArray) {
      value.type = type;
      const uint32_t raw_element = cursor.read<uint32_t>("element type of key '" + key + "'");
      check(is_known_value_type(raw_element), path_, ": key '", key, "' has unknown array element type ",
            raw_element);
      value.element_type = static_cast<GgufValueType>(raw_element);
      check(value.element_type != GgufValueType::kArray, path_, ": key '", key,
            "' is an array of arrays (not part of GGUF)");
      const uint64_t count = cursor.read<uint64_t>("element count of key '" + key + "'");
      check(count <= cursor.remaining() / minimum_encoded_size(value.element_type), path_, ": key '", key,
            "': array of ", count, " ", gguf_value_type_name(value.element_type), " elements cannot fit in the ",
            cursor.remaining(), " bytes left");
      value.array_count = count;
      value.array_offset = cursor.position();
      GgufValue element;  // read to validate and skip; decoded again when asked for
      for (uint64_t i = 0; i < count; ++i) read_scalar(cursor, value.element_type, element, what);
    } else {
      read_scalar(cursor, type, value, what);
    }
    key_order_.push_back(key);
    metadata_.emplace(key, std::move(value));
  }

  if (const GgufValue* alignment = find("general.alignment")) {
    check(alignment->type == GgufValueType::kUint32, path_, ": key 'general.alignment' is ",
          gguf_value_type_name(alignment->type), ", expected uint32");
    alignment_ = alignment->unsigned_value;
    check(alignment_ > 0 && (alignment_ & (alignment_ - 1)) == 0, path_, ": key 'general.alignment' = ",
          alignment_, " is not a power of two");
  }

  tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t t = 0; t < tensor_count; ++t) {
    GgufTensorInfo info;
    info.name = cursor.read_string("name of tensor " + std::to_string(t));
    check(!info.name.empty(), path_, ": tensor ", t, " has an empty name");
    check(tensor_index_.count(info.name) == 0, path_, ": duplicate tensor name '", info.name, "'");
    const std::string where = path_ + ": tensor '" + info.name + "'";
    const uint32_t n_dims = cursor.read<uint32_t>("dimension count of tensor '" + info.name + "'");
    check(n_dims >= 1 && n_dims <= kMaxDims, where, " has ", n_dims, " dimensions (1 to ", kMaxDims, " allowed)");
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t size = cursor.read<int64_t>("dimensions of tensor '" + info.name + "'");
      check(size >= 0, where, ": dimension ", d, " is negative (", size, ")");
      check(multiply_checked(elements, size, elements), where, ": element count overflows int64");
      info.dims.push_back(size);
    }
    const uint32_t raw_type = cursor.read<uint32_t>("type of tensor '" + info.name + "'");
    if (!is_accepted_tensor_type(raw_type)) {
      const std::string known = other_ggml_type_name(raw_type);
      fail(where, known.empty() ? " has unknown ggml type " : " has ggml type ",
           known.empty() ? std::to_string(raw_type) : known + " (" + std::to_string(raw_type) + ")",
           known.empty() ? "" : ", which stepwise does not read",
           " (read: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K)");
    }
    info.type = static_cast<GgmlType>(raw_type);
    const int64_t block = ggml_block_elements(info.type);
    check(info.dims[0] % block == 0, where, ": rows of ", info.dims[0], " elements are not a multiple of the ",
          ggml_type_name(info.type), " block of ", block);
    int64_t bytes = 0;
    check(multiply_checked(elements / block, ggml_block_bytes(info.type), bytes), where,
          ": byte size overflows int64");
    info.bytes = static_cast<uint64_t>(bytes);
    info.offset = cursor.read<uint64_t>("offset of tensor '" + info.name + "'");
    check(info.offset % alignment_ == 0, where, ": offset ", info.offset, " is not a multiple of the alignment ",
          alignment_);
    tensor_index_.emplace(info.name, tensors_.size());
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment after the header.
  const uint64_t header_end = cursor.position();
  const uint64_t padding = (alignment_ - header_end % alignment_) % alignment_;
  data_start_ = header_end + padding;
  if (tensors_.empty()) return;
  check(data_start_ <= file_size_, path_, ": truncated: the data section would start at byte ", data_start_,
        " of a ", file_size_, "-byte file");
  const uint64_t data_size = file_size_ - data_start_;
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& info : tensors_) by_offset.push_back(&info);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  uint64_t covered = 0;
  const GgufTensorInfo* previous = nullptr;
  for (const GgufTensorInfo* info : by_offset) {
    check(info->offset <= data_size && info->bytes <= data_size - info->offset, path_, ": tensor '", info->name,
          "': bytes [", info->offset, ", ", info->offset + info->bytes, ") of the data section run past its end (",
          data_size, " bytes; the file is truncated)");
    check(previous == nullptr || info->offset >= covered || info->bytes == 0, path_, ": tensor '", info->name,
          "' at offset ", info->offset, " overlaps tensor '", previous ? previous->name : std::string(),
          "' (which ends at ", covered, ")");
    if (info->bytes == 0) continue;
    covered = info->offset + info->bytes;
    previous = info;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

void GgufFile::wrong_type(const std::string& key, const GgufValue& value, const char* expected) const {
  std::string actual = gguf_value_type_name(value.type);
  if (value.type == GgufValueType::kArray) actual += " of " + gguf_value_type_name(value.element_type);
  fail(path_, ": key '", key, "' is ", actual, ", expected ", expected);
}

namespace {
bool integer_of(const GgufValue& v, int64_t& out) {
  if (!v.is_integer()) return false;
  if (v.type == GgufValueType::kUint8 || v.type == GgufValueType::kUint16 || v.type == GgufValueType::kUint32 ||
      v.type == GgufValueType::kUint64) {
    if (v.unsigned_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out = static_cast<int64_t>(v.unsigned_value);
  } else {
    out = v.signed_value;
  }
  return true;
}
}  // namespace

std::optional<int64_t> GgufFile::optional_integer(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  int64_t out = 0;
  if (!integer_of(*v, out)) {
    if (v->is_integer()) fail(path_, ": key '", key, "' = ", v->unsigned_value, " is out of range");
    wrong_type(key, *v, "an integer");
  }
  return out;
}

std::optional<double> GgufFile::optional_real(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_float()) wrong_type(key, *v, "float32 or float64");
  return v->float_value;
}

std::optional<bool> GgufFile::optional_boolean(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kBool) wrong_type(key, *v, "bool");
  return v->bool_value;
}

std::optional<std::string> GgufFile::optional_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kString) wrong_type(key, *v, "string");
  return v->string_value;
}

int64_t GgufFile::integer(const std::string& key) const {
  auto value = optional_integer(key);
  check(value.has_value(), path_, ": missing metadata key '", key, "'");
  return *value;
}

double GgufFile::real(const std::string& key) const {
  auto value = optional_real(key);
  check(value.has_value(), path_, ": missing metadata key '", key, "'");
  return *value;
}

bool GgufFile::boolean(const std::string& key) const {
  auto value = optional_boolean(key);
  check(value.has_value(), path_, ": missing metadata key '", key, "'");
  return *value;
}

const std::string& GgufFile::string(const std::string& key) const {
  const GgufValue* v = find(key);
  check(v != nullptr, path_, ": missing metadata key '", key, "'");
  if (v->type != GgufValueType::kString) wrong_type(key, *v, "string");
  return v->string_value;
}

const GgufValue& GgufFile::array_of(const std::string& key) const {
  const GgufValue* v = find(key);
  check(v != nullptr, path_, ": missing metadata key '", key, "'");
  if (v->type != GgufValueType::kArray) wrong_type(key, *v, "an array");
  return *v;
}

std::vector<std::string> GgufFile::string_array(const std::string& key) const {
  const GgufValue& v = array_of(key);
  if (v.element_type != GgufValueType::kString) wrong_type(key, v, "array of string");
  Cursor cursor(path_, mapped_, file_size_);
  cursor.skip(v.array_offset);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(v.array_count));  // checked against the file when it was read
  for (uint64_t i = 0; i < v.array_count; ++i) out.push_back(cursor.read_string("key '" + key + "'"));
  return out;
}

std::vector<int64_t> GgufFile::integer_array(const std::string& key) const {
  const GgufValue& v = array_of(key);
  if (!is_integer_type(v.element_type)) wrong_type(key, v, "array of integers");
  Cursor cursor(path_, mapped_, file_size_);
  cursor.skip(v.array_offset);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(v.array_count));
  GgufValue element;
  for (uint64_t i = 0; i < v.array_count; ++i) {
    read_scalar(cursor, v.element_type, element, "key '" + key + "'");
    int64_t value = 0;
    check(integer_of(element, value), path_, ": key '", key, "' element ", i, " is out of range");
    out.push_back(value);
  }
  return out;
}

std::vector<double> GgufFile::real_array(const std::string& key) const {
  const GgufValue& v = array_of(key);
  if (v.element_type != GgufValueType::kFloat32 && v.element_type != GgufValueType::kFloat64) wrong_type(key, v, "array of float32 or float64");
  Cursor cursor(path_, mapped_, file_size_);
  cursor.skip(v.array_offset);
  std::vector<double> out;
  out.reserve(static_cast<size_t>(v.array_count));
  GgufValue element;
  for (uint64_t i = 0; i < v.array_count; ++i) {
    read_scalar(cursor, v.element_type, element, "key '" + key + "'");
    out.push_back(element.float_value);
  }
  return out;
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  check(it != tensor_index_.end(), path_, ": no tensor '", name, "'");
  return tensors_[it->second];
}

}  // namespace stepwise
