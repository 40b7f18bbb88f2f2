// Fuzz target: one GGUF file (header, metadata, tensor infos, data section). Opening either succeeds or
// throws stepwise::Error; in a file that opened, every metadata value reads back through the getter of
// its type (arrays decoded in full, with as many elements as the header says), the getters of other
// types throw stepwise::Error, and every tensor lies inside the file and dequantizes to as many floats
// as its shape holds. A file that opened is also read as a model description (gguf_transformer_config)
// and, when it carries one, as a tokenizer, each either succeeding or throwing stepwise::Error; a
// tokenizer that loads encodes a fixed text to ids inside its vocabulary.
#include <cstdint>
#include <functional>
#include <vector>

#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/error.h"
#include "core/gguf_dequant.h"
#include "core/gguf_file.h"
#include "models/gguf_layout.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using stepwise::GgufFile;
using stepwise::GgufValue;
using stepwise::GgufValueType;

bool throws_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const stepwise::Error&) {
    return true;
  }
  return false;
}

void read_every_value(const GgufFile& file) {
  for (const std::string& key : file.keys()) {
    const GgufValue* value = file.find(key);
    FUZZ_EXPECT(value != nullptr);
    if (value->type == GgufValueType::kArray) {
      const uint64_t count = value->array_count;
      if (value->element_type == GgufValueType::kString) {
        FUZZ_EXPECT(file.string_array(key).size() == count);
      } else if (value->element_type == GgufValueType::kFloat32 || value->element_type == GgufValueType::kFloat64) {
        FUZZ_EXPECT(file.real_array(key).size() == count);
      } else if (value->element_type != GgufValueType::kBool) {
        try {
          FUZZ_EXPECT(file.integer_array(key).size() == count);
        } catch (const stepwise::Error&) {  // a uint64 element above int64's range
        }
      }
      FUZZ_EXPECT(throws_error([&] { file.string(key); }));
    } else if (value->type == GgufValueType::kString) {
      FUZZ_EXPECT(file.string(key) == value->string_value);
      FUZZ_EXPECT(throws_error([&] { file.integer(key); }));
    } else if (value->is_float()) {
      file.real(key);
      FUZZ_EXPECT(throws_error([&] { file.boolean(key); }));
    } else if (value->type == GgufValueType::kBool) {
      file.boolean(key);
      FUZZ_EXPECT(throws_error([&] { file.string_array(key); }));
    } else {
      try {
        file.integer(key);
      } catch (const stepwise::Error&) {  // a uint64 above int64's range
      }
      FUZZ_EXPECT(throws_error([&] { file.real(key); }));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string path = fuzz::scratch_dir() + "/model.gguf";
  fuzz::write_bytes(path, data, size);
  try {
    GgufFile file(path);
    read_every_value(file);
    for (const GgufTensorInfo& info : file.tensors()) {
      FUZZ_EXPECT(info.offset <= size && info.bytes <= size - info.offset);
      FUZZ_EXPECT(file.tensor(info.name).offset == info.offset);
      std::vector<float> values(static_cast<size_t>(info.elements()));
      dequantize(info.type, file.data(info), info.elements(), values.data());
    }
    try {
      gguf_transformer_config(file);
    } catch (const Error&) {
    }
    if (gguf_has_tokenizer(file)) {
      const BpeTokenizer tokenizer = bpe_tokenizer_from_gguf(file);
      for (int64_t id : tokenizer.encode("Hello, world! 123")) FUZZ_EXPECT(id >= 0 && id < tokenizer.vocab_size());
    }
  } catch (const Error&) {
  }
  return 0;
}
