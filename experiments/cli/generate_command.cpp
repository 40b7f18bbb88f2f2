// `stepwise generate`: decode one prompt (token ids, or text with the model's tokenizer.json) with any
// decoder chosen by --decoder and print {"decoder", "tokens", "stats"} as JSON on stdout (text prompts:
// the generated text, or JSON with --json). Owns the flags common to every strategy (model,
// prompt, length, seed, dtype, device, threads); the decoder flags come from decoder_flags.h.
#include <torch/torch.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/tensor/runtime.h"
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
  parser.add_switch("chat", "wrap --prompt in the Qwen chat format (<|im_start|>user ... assistant)");
  parser.add_option("system", "TEXT", "system message for --chat");
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

  std::shared_ptr<const Transformer> model = load_checkpoint(
      parser.get("model"), LoadOptions{parse_dtype(parser.get("dtype")), parse_device(parser.get("device")),
                                       parser.get_switch("dequantize")});
  const bool text_mode = parser.given("prompt");
  check(text_mode != parser.given("ids"), "give exactly one of --ids or --prompt");
  check(text_mode || !(parser.given("chat") || parser.given("tokenizer") || parser.given("system")),
        "--chat, --system and --tokenizer go with --prompt");
  std::unique_ptr<BpeTokenizer> tokenizer;
  std::vector<int64_t> ids;
  if (text_mode) {
    tokenizer = load_model_tokenizer(parser.get("model"), parser.get_optional("tokenizer"));
    const std::string text = parser.get_switch("chat")
                                 ? qwen_chat_prompt(parser.get("prompt"), parser.get_optional("system"))
                                 : parser.get("prompt");
    ids = tokenizer->encode(text);
    check(!ids.empty(), "--prompt: the prompt encodes to no tokens");
  } else {
    ids = parser.get_int_list("ids");
  }
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
  if (text_mode) out["prompt_ids"] = ids;
  out["tokens"] = result.tokens.at(0);
  if (text_mode) out["text"] = tokenizer->decode(result.tokens.at(0), /*skip_special=*/true);
  out["stats"] = stats;
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace stepwise::cli
