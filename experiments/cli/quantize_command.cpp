// `stepwise quantize`: a checkpoint's block linears to 4 or 8 bits by round-to-nearest or AutoRound,
// written as a GPTQ-layout Hugging Face directory (models/quantization/gptq_checkpoint.h) that this
// project, transformers, GPTQModel and AutoGPTQ load. Optionally measures the written checkpoint
// against the original on held-out sequences (mean KL and top-1 agreement).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/gguf_file.h"
#include "core/tensor/runtime.h"
#include "experiments/cli/calibration_data.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/text_prompt.h"
#include "models/checkpoint.h"
#include "models/quantization/autoround.h"
#include "models/quantization/fidelity.h"
#include "models/quantization/gptq_checkpoint.h"

namespace stepwise::cli {
namespace {

namespace fs = std::filesystem;

torch::Tensor to_tensor(const std::vector<std::vector<int64_t>>& sequences) {
  const auto rows = static_cast<int64_t>(sequences.size());
  const auto length = static_cast<int64_t>(sequences.front().size());
  torch::Tensor out = torch::empty({rows, length}, torch::kInt64);
  for (int64_t r = 0; r < rows; ++r)
    std::copy(sequences[static_cast<size_t>(r)].begin(), sequences[static_cast<size_t>(r)].end(),
              out[r].data_ptr<int64_t>());
  return out;
}

// The tokenizer for text calibration: --tokenizer, else DIR/tokenizer.json when it exists.
std::unique_ptr<Tokenizer> text_tokenizer(const std::string& model, const std::optional<std::string>& file) {
  std::error_code error;
  if (!file && !fs::is_regular_file(fs::path(model) / "tokenizer.json", error)) return nullptr;
  return load_model_tokenizer(model, file);
}

// Copies the tokenizer files of `from` (when present) next to the quantized weights.
void copy_tokenizer_files(const std::string& from, const std::string& to) {
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    std::error_code error;
    const fs::path source = fs::path(from) / name;
    if (fs::is_regular_file(source, error))
      fs::copy_file(source, fs::path(to) / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

int run_quantize(const Args& args) {
  ArgParser parser(
      "stepwise quantize --model DIR --out DIR --bits 4|8 --group-size G [--sym] --method rtn|autoround\n"
      "                  [--calibration FILE] [--samples N] [--seq-len L] [--iters N] [--lr X] [--batch-size B]\n"
      "                  [--eval FILE]",
      "Quantize every transformer block's linear layers to --bits in groups of --group-size input columns and\n"
      "write a GPTQ-layout checkpoint (quant_method gptq, v1 zero points; embeddings, norms, biases and the LM\n"
      "head unquantized unless --lm-head). rtn rounds to nearest; autoround learns the rounding block by block\n"
      "on --calibration (task records, {\"ids\"} or {\"text\"} JSON Lines, or a text file; docs/quantization.md).\n"
      "Prints a JSON summary; with --eval, the written checkpoint's KL and top-1 agreement against --model.");
  parser.add_option("model", "DIR", "checkpoint directory or .gguf file to quantize");
  parser.add_option("out", "DIR", "output directory (config.json with quantization_config, model.safetensors)");
  parser.add_option("bits", "N", "4 | 8 (8-bit weights are symmetric)");
  parser.add_option("group-size", "G", "input columns per scale, dividing every quantized layer's in_features", "128");
  parser.add_switch("sym", "symmetric groups (absmax, zero point 2^(bits-1)); default asymmetric min/max");
  parser.add_option("method", "NAME", "rtn | autoround", "rtn");
  parser.add_switch("lm-head", "also quantize the LM head (by round-to-nearest; not with tied embeddings)");
  parser.add_option("calibration", "FILE", "autoround: calibration sequences (.jsonl records / ids / text, or text)");
  parser.add_option("tokenizer", "FILE", "tokenizer.json for text calibration (default: DIR/tokenizer.json)");
  parser.add_option("samples", "N", "autoround: calibration sequences", "128");
  parser.add_option("seq-len", "L", "autoround: tokens per calibration sequence at most (AutoRound: 2048)", "512");
  parser.add_option("iters", "N", "autoround: signed-gradient steps per block", "200");
  parser.add_option("lr", "X", "autoround: learning rate of rounding offsets and min/max scales (default 1/iters)");
  parser.add_option("batch-size", "B", "autoround: calibration sequences per step", "8");
  parser.add_option("seed", "S", "autoround: batch sampling", "42");
  parser.add_option("eval", "FILE", "held-out sequences (same formats as --calibration) to compare the result on");
  parser.add_option("eval-samples", "N", "sequences of --eval used", "64");
  parser.add_option("threads", "N", "torch intra-op threads, 0 to 4 per core (0 = $STEPWISE_THREADS or all cores)", "0");
  if (!parser.parse(args)) return 0;
  configure_threads(parser.get_int("threads"));

  const std::string source = parser.get("model");
  const std::string out = parser.get("out");
  const int64_t bits = parser.get_int("bits");
  check(bits == 4 || bits == 8, "--bits: expected 4 or 8, got ", bits);
  QuantizationConfig config;
  config.scheme.bits = static_cast<int>(bits);
  config.scheme.group_size = parser.get_int("group-size");
  config.scheme.symmetric = parser.get_switch("sym");
  check(config.scheme.group_size >= 1, "--group-size: expected a positive number, got ", config.scheme.group_size);
  check(bits == 4 || config.scheme.symmetric, "--bits 8: 8-bit weights are symmetric (int8); add --sym");
  config.method = parser.get("method");
  check(config.method == "rtn" || config.method == "autoround", "--method: expected rtn or autoround, got '",
        config.method, "'");
  const bool autoround = config.method == "autoround";
  for (const char* flag : {"calibration", "tokenizer", "samples", "seq-len", "iters", "lr", "batch-size", "seed"})
    check(autoround || !parser.given(flag), "--", flag, " applies only to --method autoround");
  std::error_code exists_error;
  check(fs::weakly_canonical(source, exists_error) != fs::weakly_canonical(out, exists_error),
        "--out: must differ from --model");

  auto model = load_checkpoint(source, LoadOptions{torch::kFloat32, torch::kCPU});
  const std::unique_ptr<Tokenizer> tokenizer = text_tokenizer(source, parser.get_optional("tokenizer"));
  const auto start = std::chrono::steady_clock::now();
  QuantizedWeights weights;
  nlohmann::json blocks = nlohmann::json::array();
  if (autoround) {
    AutoRoundSettings settings;
    settings.iters = parser.get_int("iters");
    check(settings.iters >= 1, "--iters: expected at least 1, got ", settings.iters);
    settings.lr = parser.get_double_optional("lr").value_or(1.0 / static_cast<double>(settings.iters));
    check(settings.lr > 0.0 && std::isfinite(settings.lr), "--lr: expected a positive number");
    settings.samples = parser.get_int("samples");
    settings.seq_len = parser.get_int("seq-len");
    settings.batch_size = parser.get_int("batch-size");
    check(settings.batch_size >= 1, "--batch-size: expected at least 1, got ", settings.batch_size);
    settings.seed = static_cast<uint64_t>(parser.get_int("seed"));
    check(parser.given("calibration"), "--method autoround needs --calibration FILE");
    const auto sequences = read_calibration(
        {parser.get("calibration"), settings.samples, settings.seq_len, 0, model->config().vocab_size},
        tokenizer.get());
    settings.samples = static_cast<int64_t>(sequences.size());
    settings.seq_len = static_cast<int64_t>(sequences.front().size());
    config.autoround = settings;
    weights = quantize_autoround(*model, to_tensor(sequences), config.scheme, settings, parser.get_switch("lm-head"),
                                 [&blocks](const BlockTuning& t) {
                                   blocks.push_back({{"layer", t.layer},
                                                     {"rtn_loss", t.rtn_loss},
                                                     {"best_loss", t.best_loss},
                                                     {"best_iteration", t.best_iteration},
                                                     {"seconds", t.seconds}});
                                   std::cerr << "block " << t.layer << ": loss " << t.rtn_loss << " -> "
                                             << t.best_loss << " (iteration " << t.best_iteration << ", "
                                             << t.seconds << " s)\n";
                                 });
  } else {
    weights = quantize_rtn(*model, config.scheme, parser.get_switch("lm-head"));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  save_gptq_checkpoint(*model, weights, config, out);
  if (!is_gguf_path(source)) copy_tokenizer_files(source, out);

  const QuantizedStorage storage = quantized_storage(out);
  nlohmann::json summary = {{"out", out},
                            {"method", config.method},
                            {"bits", config.scheme.bits},
                            {"group_size", config.scheme.group_size},
                            {"sym", config.scheme.symmetric},
                            {"quantized_linears", storage.quantized_linears},
                            {"quantized_bytes", storage.quantized_bytes},
                            {"total_bytes", storage.total_bytes},
                            {"quantize_seconds", seconds}};
  if (autoround) {
    summary["samples"] = config.autoround->samples;
    summary["seq_len"] = config.autoround->seq_len;
    summary["iters"] = config.autoround->iters;
    summary["lr"] = config.autoround->lr;
    summary["blocks"] = blocks;
  }
  if (parser.given("eval")) {
    const auto skip = autoround && parser.get("eval") == parser.get("calibration") ? config.autoround->samples : 0;
    const auto sequences = read_calibration({parser.get("eval"), parser.get_int("eval-samples"),
                                             parser.given("seq-len") ? parser.get_int("seq-len") : 512, skip,
                                             model->config().vocab_size},
                                            tokenizer.get());
    const auto quantized = load_checkpoint(out, LoadOptions{torch::kFloat32, torch::kCPU});
    const Fidelity fidelity = compare_models(*model, *quantized, to_tensor(sequences));
    summary["eval"] = {{"mean_kl", fidelity.mean_kl},
                       {"top1_agreement", fidelity.top1_agreement},
                       {"positions", fidelity.positions},
                       {"sequences_skipped", skip}};
  }
  std::cout << summary.dump() << "\n";
  return 0;
}

}  // namespace stepwise::cli
