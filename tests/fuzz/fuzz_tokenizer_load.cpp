// Fuzz target: reading a tokenizer.json (SAX pass, vocabulary, merges, normalizer, pre-tokenizer regexes,
// added tokens). Loading either succeeds or throws stepwise::Error naming the file; a tokenizer that loads
// encodes a few fixed texts without throwing, and decodes what it produced to valid UTF-8 whose raw bytes
// are the tokens' bytes in order.
#include <unicode/ustring.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool is_valid_utf8(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, text.data(), static_cast<int32_t>(text.size()), &status);
  return status != U_INVALID_CHAR_FOUND && status != U_ILLEGAL_CHAR_FOUND;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string path = fuzz::scratch_dir() + "/tokenizer.json";
  fuzz::write_bytes(path, data, size);
  try {
    const BpeTokenizer tokenizer = BpeTokenizer::from_file(path);
    for (const std::string text : {"Hello, world!", "  12+34=46\n\tcaf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd", "<|im_end|>"}) {
      const std::vector<int64_t> ids = tokenizer.encode(text);
      std::string joined;
      for (int64_t id : ids) {
        FUZZ_EXPECT(id >= 0 && id < tokenizer.vocab_size());
        joined += tokenizer.decode_bytes({id});
      }
      FUZZ_EXPECT(tokenizer.decode_bytes(ids) == joined);
      FUZZ_EXPECT(is_valid_utf8(tokenizer.decode(ids)));
    }
  } catch (const Error&) {
  }
  return 0;
}
