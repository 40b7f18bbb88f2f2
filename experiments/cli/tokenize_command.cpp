// `stepwise tokenize`: encode text to ids or decode ids to text with a byte-level BPE tokenizer.json, printing
// one JSON object on stdout ({"ids": [...]} or {"text": "..."}). No special tokens are added; added tokens
// written in the text (e.g. <|im_start|>) become their ids.
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "experiments/cli/commands.h"

namespace stepwise::cli {

namespace {

// The contents of --text-file, which must be a regular file (a directory or FIFO is an error, never read).
std::string read_text_file(const std::string& path) {
  try {
    return read_regular_file(path);
  } catch (const Error& e) {
    fail("--text-file: ", e.what());
  }
}

}  // namespace

int run_tokenize(const Args& args) {
  ArgParser parser(
      "stepwise tokenize --tokenizer FILE (--text TEXT | --text-file FILE | --decode IDS) [--skip-special]",
      "Encode text to token ids, printed as {\"ids\": [...]}, or decode ids to text, printed as {\"text\": \"...\"},\n"
      "with a Hugging Face byte-level BPE tokenizer.json (Qwen2 / Qwen3 / LLaMA-3 style; scripts/fetch_tokenizer.sh\n"
      "puts the Qwen3 one at .cache/qwen3/tokenizer.json). Encoding adds no special tokens.");
  parser.add_option("tokenizer", "FILE", "tokenizer.json to use, or a .gguf file holding one");
  parser.add_option("text", "TEXT", "UTF-8 text to encode");
  parser.add_option("text-file", "FILE", "encode the contents of FILE instead of --text");
  parser.add_option("decode", "IDS", "comma-separated token ids to decode instead");
  parser.add_switch("skip-special", "with --decode: leave out special added tokens such as <|im_end|>");
  if (!parser.parse(args)) return 0;

  const int modes =
      (parser.given("text") ? 1 : 0) + (parser.given("text-file") ? 1 : 0) + (parser.given("decode") ? 1 : 0);
  check(modes == 1, "give exactly one of --text, --text-file, --decode (see --help)");
  check(!parser.get_switch("skip-special") || parser.given("decode"), "--skip-special only applies to --decode");
  const std::string text = parser.given("text")        ? parser.get("text")
                           : parser.given("text-file") ? read_text_file(parser.get("text-file"))
                                                       : std::string();
  const BpeTokenizer tokenizer = load_bpe_tokenizer(parser.get("tokenizer"));

  nlohmann::json out;
  if (parser.given("decode")) {
    out["text"] = tokenizer.decode(parser.get_int_list("decode"), parser.get_switch("skip-special"));
  } else {
    out["ids"] = tokenizer.encode(text);
  }
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace stepwise::cli
