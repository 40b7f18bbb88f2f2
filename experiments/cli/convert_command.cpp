// `stepwise convert`: rewrite a checkpoint in another container. A Hugging Face directory or a GGUF file
// becomes a GGUF file (weights in f32, f16, bf16, q8_0 or q4_0, with the source's tokenizer and chat
// template) or a Hugging Face directory (config.json + model.safetensors in float32, with the source's
// tokenizer files: written from a GGUF file's tokenizer, or copied from the directory).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiments/terminal/cli_args.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/gguf_file.h"
#include "core/regular_file.h"
#include "core/tensor/runtime.h"
#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/tokenizer/model_chat_template.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "models/gguf_checkpoint.h"

namespace stepwise::cli {
namespace {

namespace fs = std::filesystem;

// The tokenizer files of a Hugging Face directory that `--to safetensors` copies through.
constexpr const char* kTokenizerFiles[] = {"tokenizer.json",  "tokenizer_config.json", "special_tokens_map.json",
                                           "chat_template.jinja", "vocab.json",           "merges.txt",
                                           "added_tokens.json"};

// Writes the tokenizer of `source` (a GGUF file's, as tokenizer.json + tokenizer_config.json; a
// directory's files, copied) into the directory `out`; returns the names written.
std::vector<std::string> write_tokenizer_files(const std::string& source, const std::string& out) {
  std::vector<std::string> written;
  if (is_gguf_path(source)) {
    const GgufFile file(source);
    if (gguf_has_tokenizer(file)) {
      write_file_atomically((fs::path(out) / "tokenizer.json").string(), gguf_tokenizer_json(file).dump());
      written.push_back("tokenizer.json");
    }
    if (gguf_has_tokenizer(file) || file.has("tokenizer.chat_template")) {
      write_file_atomically((fs::path(out) / "tokenizer_config.json").string(),
                            gguf_tokenizer_config_json(file).dump(2) + "\n");
      written.push_back("tokenizer_config.json");
    }
    return written;
  }
  for (const char* name : kTokenizerFiles) {
    const fs::path from = fs::path(source) / name;
    std::error_code error;
    if (!fs::exists(from, error)) continue;
    write_file_atomically((fs::path(out) / name).string(), read_regular_file(from.string()));
    written.push_back(name);
  }
  return written;
}

}  // namespace

int run_convert(const Args& args) {
  ArgParser parser(
      "stepwise convert --model DIR|FILE.gguf --to gguf|safetensors [--type T] [--tokenizer FILE] --out PATH",
      "Write a checkpoint as a GGUF file (--to gguf: llama.cpp's layout, weights as --type, the tokenizer and chat\n"
      "template of the source: DIR/tokenizer.json or --tokenizer and DIR's chat template, or the GGUF file's) or as a\n"
      "Hugging Face directory (--to safetensors: config.json + model.safetensors in float32, with the source's\n"
      "tokenizer: a GGUF file's as tokenizer.json + tokenizer_config.json, a directory's files copied).");
  parser.add_option("model", "DIR", "checkpoint directory or .gguf file");
  parser.add_option("to", "FORMAT", "gguf | safetensors");
  parser.add_option("type", "TYPE", "with --to gguf: f32 | f16 | bf16 | q8_0 | q4_0 (1-D tensors stay f32)", "f32");
  parser.add_option("tokenizer", "FILE",
                    "with --to gguf: tokenizer.json (or .gguf) to embed (default: DIR/tokenizer.json, a GGUF source's own)");
  parser.add_option("out", "PATH", "the .gguf file, or the directory for --to safetensors");
  if (!parser.parse(args)) return 0;
  configure_threads();
  const std::string source = parser.get("model");
  const std::string format = parser.get("to");
  const std::string out = parser.get("out");
  check(format == "gguf" || format == "safetensors", "--to: expected gguf or safetensors, got '", format, "'");
  const auto model = load_checkpoint(source, LoadOptions{torch::kFloat32, torch::kCPU, /*dequantize=*/true});

  if (format == "safetensors") {
    check(!parser.given("type") && !parser.given("tokenizer"), "--type and --tokenizer apply only to --to gguf");
    save_checkpoint(*model, out);
    const std::vector<std::string> tokenizer_files = write_tokenizer_files(source, out);
    std::cout << nlohmann::json{{"out", out}, {"format", "safetensors"}, {"tokenizer_files", tokenizer_files}}.dump()
              << "\n";
    return 0;
  }
  check(is_gguf_path(out), "--out: a GGUF file name must end in .gguf, got '", out, "'");
  const std::string type_name = parser.get("type");
  const auto type = ggml_type_from_name(type_name);
  check(type && (*type == GgmlType::kF32 || *type == GgmlType::kF16 || *type == GgmlType::kBF16 ||
                 *type == GgmlType::kQ8_0 || *type == GgmlType::kQ4_0),
        "--type: expected f32, f16, bf16, q8_0 or q4_0, got '", type_name, "'");
  GgufSaveOptions options;
  options.weight_type = *type;
  options.tokenizer_json = parser.get_optional("tokenizer");
  if (is_gguf_path(source)) {
    if (!options.tokenizer_json && gguf_has_tokenizer(GgufFile(source))) options.tokenizer_json = source;
  } else {
    const auto candidate = fs::path(source) / "tokenizer.json";
    std::error_code error;
    if (!options.tokenizer_json && fs::is_regular_file(candidate, error)) options.tokenizer_json = candidate.string();
  }
  if (const auto chat_template = read_chat_template_source(source)) options.chat_template = chat_template->text;
  save_gguf_checkpoint(*model, out, options);
  std::cout << nlohmann::json{{"out", out},
                              {"format", "gguf"},
                              {"type", type_name},
                              {"tokenizer", options.tokenizer_json ? *options.tokenizer_json : "none"}}
                   .dump()
            << "\n";
  return 0;
}

}  // namespace stepwise::cli
