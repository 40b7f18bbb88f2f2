// Fuzz target: encode and decode of arbitrary bytes with the Qwen3 byte-level BPE tokenizer
// (.cache/qwen3/tokenizer.json, or $STEPWISE_FUZZ_TOKENIZER). The input is used twice:
//   as text: invalid UTF-8 is refused with stepwise::Error; valid UTF-8 encodes to in-vocabulary ids, and
//     when the text is NFC-normalized (the tokenizer's normalizer) decode(encode(text)) == text;
//   as little-endian 32-bit ids: decode accepts exactly the ids in the vocabulary, returns valid UTF-8,
//     and decode_bytes of the list is the concatenation of the single tokens' bytes.
#include <unicode/normalizer2.h>
#include <unicode/ustring.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// UTF-8 validity and NFC checked with ICU directly, independently of the tokenizer's own code.
bool is_valid_utf8(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, text.data(), static_cast<int32_t>(text.size()), &status);
  return status != U_INVALID_CHAR_FOUND && status != U_ILLEGAL_CHAR_FOUND;
}

bool is_nfc(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) std::abort();
  const bool normalized = nfc->isNormalizedUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), status);
  return U_SUCCESS(status) && normalized;
}

const stepwise::BpeTokenizer& tokenizer() {
  static const std::unique_ptr<stepwise::BpeTokenizer> loaded = [] {
    const char* path = std::getenv("STEPWISE_FUZZ_TOKENIZER");
    try {
      return std::make_unique<stepwise::BpeTokenizer>(
          stepwise::BpeTokenizer::from_file(path != nullptr ? path : STEPWISE_QWEN3_TOKENIZER));
    } catch (const stepwise::Error& error) {
      std::fprintf(stderr, "fuzz_tokenizer_codec: %s (run scripts/fetch_tokenizer.sh)\n", error.what());
      std::exit(2);
    }
  }();
  return *loaded;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const BpeTokenizer& bpe = tokenizer();

  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!is_valid_utf8(text)) {
    bool refused = false;
    try {
      bpe.encode(text);
    } catch (const Error&) {
      refused = true;
    }
    FUZZ_EXPECT(refused);
  } else {
    const std::vector<int64_t> ids = bpe.encode(text);
    for (int64_t id : ids) FUZZ_EXPECT(id >= 0 && id < bpe.vocab_size());
    if (is_nfc(text)) {
      FUZZ_EXPECT(bpe.decode(ids) == text);
      FUZZ_EXPECT(bpe.decode_bytes(ids) == text);
    }
  }

  std::vector<int64_t> ids;
  bool all_known = true;
  std::string joined;
  for (size_t i = 0; i + 4 <= size; i += 4) {
    const uint32_t raw = uint32_t{data[i]} | uint32_t{data[i + 1]} << 8 | uint32_t{data[i + 2]} << 16 |
                         uint32_t{data[i + 3]} << 24;
    // Mostly ids near the vocabulary, sometimes far outside it (negative or huge).
    const int64_t id = raw >> 31 ? static_cast<int32_t>(raw) : static_cast<int64_t>(raw % (bpe.vocab_size() + 8));
    ids.push_back(id);
    try {
      joined += bpe.decode_bytes({id});
    } catch (const Error&) {
      all_known = false;
    }
  }
  try {
    const std::string decoded = bpe.decode(ids);
    FUZZ_EXPECT(all_known);
    FUZZ_EXPECT(is_valid_utf8(decoded));
    FUZZ_EXPECT(bpe.decode_bytes(ids) == joined);
  } catch (const Error&) {
    FUZZ_EXPECT(!all_known);
  }
  return 0;
}
