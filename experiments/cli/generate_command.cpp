// `stepwise generate`: decode one prompt (token ids, or text with the model's tokenizer, as it is or as
// a conversation rendered with the model's chat template) with any decoder chosen by --decoder and print {"decoder", "tokens", "stats"} as JSON on stdout (text prompts:
// the generated text, or JSON with --json). Owns the flags common to every strategy (model,
// prompt, length, seed, dtype, device, threads); the decoder flags come from decoder_flags.h.
#include <torch/torch.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/tensor/runtime.h"
#include "core/tokenizer/model_chat_template.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/decoder_flags.h"
#include "experiments/cli/text_prompt.h"
#include "models/checkpoint.h"

namespace stepwise::cli {
int run_generate(const Args& args) {
  ArgParser parser(
      "stepwise generate --model DIR --ids 1,2,3 --decoder ar|speculative|diffusion|remasking --max-new-tokens N "
      "[FLAGS] [--set KEY=VALUE ...]",
      "Generate a continuation of one prompt and print JSON {\"decoder\", \"tokens\", \"stats\"}; stats hold\n"
      "forward_calls (NFE), wall_s, first_token_s, generated_tokens and decoder-specific details. The decoder\n"
      "settings are those of experiment files (docs/decoders.md): each has a flag, and --set takes its key.");
  parser.add_option("model", "DIR", "checkpoint directory (the target model for speculative decoding)");
  parser.add_option("ids", "LIST", "comma-separated prompt token ids (or --prompt)");
  parser.add_option("prompt", "TEXT", "prompt text, encoded with the model's tokenizer.json; prints text");
  parser.add_option("tokenizer", "FILE", "tokenizer.json for --prompt (default: DIR/tokenizer.json)");
  parser.add_switch("chat", "render --prompt as a user message with the model's chat template (ChatML when it has none)");
  parser.add_option("system", "TEXT", "with --chat: a system message before the others");
  parser.add_option("messages", "FILE",
                    "the conversation as JSON [{\"role\", \"content\"}, ...]; implies --chat (--prompt adds a user turn)");
  parser.add_option("enable-thinking", "BOOL", "with --chat: pass enable_thinking = true | false to the template");
  parser.add_switch("json", "with --prompt: print JSON {decoder, prompt_ids, tokens, text, stats} instead of text");
  parser.add_option("max-new-tokens", "N", "tokens to generate (diffusion: canvas length)", "32");
  parser.add_option("seed", "S", "sampling seed", "0");
  parser.add_option("dtype", "DTYPE", "compute dtype: float32 | bfloat16 (float16 is not supported on CPU)", "float32");
  parser.add_option("device", "DEVICE", "cpu | cuda | auto", "cpu");
  parser.add_option("threads", "N", "torch intra-op threads, 0 to 4 per core (0 = $STEPWISE_THREADS or all cores)", "0");
  parser.add_switch("dequantize", "load Q8_0 / Q4_0 weights dequantized only, not kept for the int8 / int4 kernels");
  add_decoder_flags(parser);
  if (!parser.parse(args)) return 0;

  const runner::DecoderSpec spec = decoder_spec_from_flags(parser, std::cerr);
  const int64_t max_new_tokens = parser.get_int("max-new-tokens");
  check(max_new_tokens >= 0, "--max-new-tokens must be >= 0, got ", max_new_tokens);
  const int64_t seed = parser.get_int("seed");
  check(seed >= 0, "--seed must be >= 0, got ", seed);
  configure_threads(parser.get_int("threads"));

  const std::string model_path = parser.get("model");
  const bool chat = parser.get_switch("chat") || parser.given("messages");
  const bool text_mode = parser.given("prompt") || parser.given("messages");
  check(text_mode != parser.given("ids"), "give exactly one of --ids, --prompt or --messages");
  check(text_mode || !(parser.given("chat") || parser.given("tokenizer") || parser.given("system") ||
                       parser.given("enable-thinking")),
        "--chat, --system, --enable-thinking and --tokenizer go with --prompt or --messages");
  check(chat || !(parser.given("system") || parser.given("enable-thinking")),
        "--system and --enable-thinking go with --chat or --messages");
  std::unique_ptr<BpeTokenizer> tokenizer;
  std::vector<int64_t> ids;
  std::string prompt_text;
  if (text_mode) {
    tokenizer = load_model_tokenizer(model_path, parser.get_optional("tokenizer"));
    prompt_text = parser.get_optional("prompt").value_or("");
    if (chat) {
      const ChatInput input = read_chat_input(parser.get_optional("messages"), parser.get_optional("system"),
                                              parser.get_optional("prompt"));
      const ModelChatTemplate chat_template(model_path, parser.get_optional("tokenizer"));
      if (!chat_template.has_own_template())
        std::cerr << "generate: " << model_path
                  << " has no chat template; the prompt uses the built-in ChatML format (<|im_start|>ROLE ... <|im_end|>)\n";
      ChatOptions options;
      options.tools = input.tools;
      if (const auto thinking = parser.get_optional("enable-thinking")) {
        check(*thinking == "true" || *thinking == "false", "--enable-thinking: expected true or false, got '", *thinking,
              "'");
        options.enable_thinking = *thinking == "true";
      }
      prompt_text = chat_template.render(input.messages, options);
    }
    ids = tokenizer->encode(prompt_text);
    check(!ids.empty(), "--prompt: the prompt encodes to no tokens");
  } else {
    ids = parser.get_int_list("ids");
  }
  std::shared_ptr<const Transformer> model = load_checkpoint(
      model_path, LoadOptions{parse_dtype(parser.get("dtype")), parse_device(parser.get("device")),
                              parser.get_switch("dequantize")});
  for (int64_t id : ids)
    check(id >= 0 && id < model->config().vocab_size, "--ids: token id ", id, " is outside the vocabulary [0, ",
          model->config().vocab_size, ")");

  std::unique_ptr<Decoder> decoder = make_cli_decoder(spec, parser, model);
  DecodeRequest request;
  request.prompts = {ids};
  request.max_new_tokens = max_new_tokens;
  request.seeds = {static_cast<uint64_t>(seed)};
  const DecodeResult result = decoder->decode(request);

  nlohmann::ordered_json stats;
  stats["forward_calls"] = result.stats.forward_calls;
  stats["wall_s"] = result.stats.wall_s;
  stats["first_token_s"] = result.stats.first_token_s;
  stats["generated_tokens"] = result.stats.generated_tokens;
  stats["details"] = result.stats.details;
  if (text_mode && !parser.get_switch("json")) {
    std::cout << tokenizer->decode(result.tokens.at(0), /*skip_special=*/true) << "\n";
    return 0;
  }
  nlohmann::ordered_json out;
  out["decoder"] = decoder->describe();
  if (chat) out["prompt_text"] = prompt_text;
  if (text_mode) out["prompt_ids"] = ids;
  out["tokens"] = result.tokens.at(0);
  if (text_mode) out["text"] = tokenizer->decode(result.tokens.at(0), /*skip_special=*/true);
  out["stats"] = stats;
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace stepwise::cli
