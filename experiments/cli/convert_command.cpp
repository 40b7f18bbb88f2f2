// `stepwise convert`: rewrite a checkpoint in another container. A Hugging Face directory or a GGUF file
// becomes a GGUF file (weights in f32, f16, bf16, q8_0 or q4_0, with the directory's tokenizer.json and
// chat template) or a Hugging Face directory (config.json + model.safetensors in float32).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/gguf_file.h"
#include "core/regular_file.h"
#include "core/tensor/runtime.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "models/gguf_checkpoint.h"

namespace stepwise::cli {
namespace {

// The chat template of a Hugging Face directory (tokenizer_config.json "chat_template" as a string).
std::optional<std::string> chat_template_of(const std::string& directory) {
  const auto path = std::filesystem::path(directory) / "tokenizer_config.json";
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return std::nullopt;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_regular_file(path.string()));
  } catch (const nlohmann::json::exception& e) {
    fail(path.string(), ": not valid JSON (", e.what(), ")");
  }
  if (json.is_object() && json.contains("chat_template") && json["chat_template"].is_string())
    return json["chat_template"].get<std::string>();
  return std::nullopt;
}

}  // namespace

int run_convert(const Args& args) {
  ArgParser parser(
      "stepwise convert --model DIR|FILE.gguf --to gguf|safetensors [--type T] [--tokenizer FILE] --out PATH",
      "Write a checkpoint as a GGUF file (--to gguf: llama.cpp's layout, weights as --type, the tokenizer of\n"
      "DIR/tokenizer.json or --tokenizer, the chat template of DIR/tokenizer_config.json) or as a Hugging Face\n"
      "directory (--to safetensors: config.json + model.safetensors in float32).");
  parser.add_option("model", "DIR", "checkpoint directory or .gguf file");
  parser.add_option("to", "FORMAT", "gguf | safetensors");
  parser.add_option("type", "TYPE", "with --to gguf: f32 | f16 | bf16 | q8_0 | q4_0 (1-D tensors stay f32)", "f32");
  parser.add_option("tokenizer", "FILE", "with --to gguf: tokenizer.json to embed (default: DIR/tokenizer.json)");
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
    std::cout << nlohmann::json{{"out", out}, {"format", "safetensors"}}.dump() << "\n";
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
  if (!is_gguf_path(source)) {
    const auto candidate = std::filesystem::path(source) / "tokenizer.json";
    std::error_code error;
    if (!options.tokenizer_json && std::filesystem::is_regular_file(candidate, error))
      options.tokenizer_json = candidate.string();
    options.chat_template = chat_template_of(source);
  }
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
