// Fuzz target: chat templates. The input is a template, parsed and rendered with a three-message
// conversation and the variables generate passes (add_generation_prompt, bos / eos tokens, tools = none).
// Only stepwise::Error may come out of parsing or rendering (no crash, no other exception, no runaway
// recursion or allocation), and a template that renders renders the same text again (no state kept
// between renders; templates reading the clock are exempt).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/tokenizer/chat_template.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

const nlohmann::ordered_json& variables() {
  static const nlohmann::ordered_json value = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": "Hi <think>x</think> ünïcode"},
                 {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "tools": null})");
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  try {
    const stepwise::ChatTemplate chat_template(source, "fuzz.jinja");
    std::string first;
    try {
      first = chat_template.render(variables());
    } catch (const stepwise::Error&) {
      return 0;
    }
    if (source.find("strftime_now") == std::string::npos) FUZZ_EXPECT(chat_template.render(variables()) == first);
  } catch (const stepwise::Error&) {
  }
  return 0;
}
