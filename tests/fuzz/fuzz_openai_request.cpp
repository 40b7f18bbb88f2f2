// Fuzz target: the request bodies of `stepwise serve`. The first byte picks the endpoint (even:
// /v1/completions, odd: /v1/chat/completions), the rest is the body. Only ApiError with HTTP status 400
// may come out of parsing (no crash, no other exception), its error body serialises, and a body that
// parses parses to the same request again.
#include <cstdint>
#include <string>

#include "experiments/serve/openai_request.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using stepwise::serve::Endpoint;
  const Endpoint endpoint = data[0] % 2 == 0 ? Endpoint::kCompletions : Endpoint::kChatCompletions;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const stepwise::serve::ApiRequest first = stepwise::serve::parse_api_request(endpoint, body);
    const stepwise::serve::ApiRequest again = stepwise::serve::parse_api_request(endpoint, body);
    FUZZ_EXPECT(first.model == again.model && first.prompt_text == again.prompt_text &&
                first.prompt_ids == again.prompt_ids && first.messages == again.messages &&
                first.max_tokens == again.max_tokens && first.n == again.n && first.stop == again.stop &&
                first.decoder_settings == again.decoder_settings);
    FUZZ_EXPECT(!first.model.empty() && first.n >= 1 && (!first.max_tokens || *first.max_tokens >= 1));
  } catch (const stepwise::serve::ApiError& error) {
    FUZZ_EXPECT(error.status() == 400);
    FUZZ_EXPECT(!error.body().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).empty());
  }
  return 0;
}
