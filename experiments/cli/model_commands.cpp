// `stepwise inspect` and `stepwise logits`: look at a checkpoint and its raw outputs.
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/gguf_file.h"
#include "core/tensor/runtime.h"
#include "core/tensor/safetensors.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "models/gguf_checkpoint.h"
#include "models/packed_linear.h"
#include "models/quantization/gptq_checkpoint.h"

namespace stepwise::cli {

int run_inspect(const Args& args) {
  ArgParser parser("stepwise inspect --model DIR|FILE.gguf",
                   "Describe a Hugging Face checkpoint directory or a GGUF file as JSON.");
  parser.add_option("model", "DIR", "checkpoint directory (config.json + safetensors) or .gguf file");
  parser.add_switch("dequantize", "load Q8_0 / Q4_0 weights dequantized only, not kept for the int8 / int4 kernels");
  if (!parser.parse(args)) return 0;
  configure_threads();
  const std::string directory = parser.get("model");
  auto model = load_checkpoint(directory, LoadOptions{torch::kFloat32, torch::kCPU, parser.get_switch("dequantize")});
  std::string stored_dtype;
  size_t tensor_count = 0;
  if (is_gguf_path(directory)) {
    const GgufFile file(directory);
    stored_dtype = gguf_tensor_type_summary(file);  // GGUF mixes types: counts per ggml type
    tensor_count = file.tensors().size();
  } else {
    TensorStore store(directory);
    stored_dtype = store.stored_dtype();
    tensor_count = store.names().size();
  }
  const TransformerConfig& c = model->config();
  nlohmann::ordered_json out;
  out["model_type"] = c.model_type;
  out["architecture"] = c.architecture;
  out["attention"] = c.attention_kind();
  out["logit_shift"] = c.shift_logits;
  out["vocab_size"] = c.vocab_size;
  out["hidden_size"] = c.hidden_size;
  out["intermediate_size"] = c.intermediate_size;
  out["num_layers"] = c.num_layers;
  out["num_heads"] = c.num_heads;
  out["num_kv_heads"] = c.num_kv_heads;
  out["head_dim"] = c.head_dim;
  out["rope_theta"] = c.rope_theta;
  out["qkv_bias"] = c.attention_bias;
  out["qk_norm"] = c.qk_norm;
  out["tied_embeddings"] = c.tie_word_embeddings;
  out["parameters"] = model->parameter_count();
  out["stored_dtype"] = stored_dtype;
  out["config_dtype"] = c.stored_dtype;
  out["tensors"] = tensor_count;
  // The weights the CPU kernels read, by format: how many tensors and their packed bytes.
  nlohmann::ordered_json formats = nlohmann::ordered_json::object();
  for (const auto& [format, total] : model->packed_linears().format_totals())
    formats[format] = {{"tensors", total.tensors}, {"bytes", total.bytes}};
  out["kernel_weights"] = formats;
  if (!is_gguf_path(directory) && is_quantized_checkpoint(directory)) {
    const QuantizationConfig q = load_quantization_config(directory);
    const QuantizedStorage storage = quantized_storage(directory);
    nlohmann::ordered_json quantization;
    quantization["method"] = q.method;
    quantization["quant_method"] = q.quant_method;
    quantization["checkpoint_format"] = q.zero_format == GptqZeroFormat::kV2 ? "gptq_v2" : "gptq";
    quantization["bits"] = q.scheme.bits;
    quantization["group_size"] = q.scheme.group_size;
    quantization["sym"] = q.scheme.symmetric;
    quantization["quantized_linears"] = storage.quantized_linears;
    quantization["quantized_bytes"] = storage.quantized_bytes;
    quantization["total_bytes"] = storage.total_bytes;
    out["quantization"] = quantization;
  }
  if (c.mask_token_id) out["mask_token_id"] = *c.mask_token_id;
  if (!c.eos_token_ids.empty()) out["eos_token_ids"] = c.eos_token_ids;
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_logits(const Args& args) {
  ArgParser parser("stepwise logits --model DIR --ids 1,2,3 [--attention causal|bidirectional] [--dtype D]",
                   "Print raw (unshifted) logits of one token sequence as JSON {\"logits\": [[...], ...]},\n"
                   "one row per input position.");
  parser.add_option("model", "DIR", "checkpoint directory or .gguf file");
  parser.add_option("ids", "LIST", "comma-separated input token ids");
  parser.add_option("attention", "KIND", "causal | bidirectional (default: the model's own kind)");
  parser.add_option("dtype", "DTYPE", "compute dtype: float32 | bfloat16 (float16 is not supported on CPU)", "float32");
  parser.add_option("device", "DEVICE", "cpu | cuda | auto", "cpu");
  parser.add_option("threads", "N", "torch intra-op threads, 0 to 4 per core (0 = $STEPWISE_THREADS or all cores)", "0");
  parser.add_switch("dequantize", "load Q8_0 / Q4_0 weights dequantized only, not kept for the int8 / int4 kernels");
  if (!parser.parse(args)) return 0;
  configure_threads(parser.get_int("threads"));
  LoadOptions options{parse_dtype(parser.get("dtype")), parse_device(parser.get("device")),
                      parser.get_switch("dequantize")};
  auto model = load_checkpoint(parser.get("model"), options);
  const std::vector<int64_t> ids = parser.get_int_list("ids");
  for (int64_t id : ids)
    check(id >= 0 && id < model->config().vocab_size, "--ids: token id ", id, " is outside the vocabulary [0, ",
          model->config().vocab_size, ")");
  const std::string kind = parser.get_optional("attention").value_or(model->config().attention_kind());
  ForwardOptions forward_options;
  if (kind == "bidirectional") forward_options.attention = AttentionSpec::bidirectional();
  else check(kind == "causal", "--attention: expected causal or bidirectional, got '", kind, "'");

  torch::NoGradGuard no_grad;
  const int64_t length = static_cast<int64_t>(ids.size());
  torch::Tensor tokens = torch::tensor(ids, torch::kInt64).view({1, length});
  torch::Tensor positions = torch::arange(length, torch::kInt64).view({1, length});
  torch::Tensor logits = model->forward(tokens, positions, forward_options)[0].contiguous().to(torch::kCPU);
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t t = 0; t < length; ++t) {
    const float* row = logits[t].data_ptr<float>();
    rows.push_back(std::vector<float>(row, row + logits.size(1)));
  }
  std::cout << nlohmann::json{{"logits", rows}}.dump() << "\n";
  return 0;
}

}  // namespace stepwise::cli
