// GPTQ-layout checkpoints as a TensorSource (quantized linears presented as their dequantized
// ".weight"), and the writer.
#include "models/quantization/gptq_checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"
#include "core/tensor/safetensors.h"
#include "models/quantization/group_quantizer.h"
#include "models/tensor_source.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;

const char* const kPartSuffixes[] = {".qweight", ".qzeros", ".scales", ".g_idx"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

nlohmann::json read_config_json(const std::string& directory) {
  const std::string path = (fs::path(directory) / "config.json").string();
  return parse_json_input(read_regular_file(path), path);
}

template <typename T>
std::vector<T> tensor_values(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.contiguous();
  return std::vector<T>(flat.data_ptr<T>(), flat.data_ptr<T>() + flat.numel());
}

// A GPTQ-layout directory under Hugging Face names: "P.weight" for every "P.qweight".
class GptqSource : public TensorSource {
 public:
  GptqSource(const std::string& directory, QuantizationConfig config, const TransformerConfig& model)
      : store_(directory), config_(std::move(config)) {
    for (const auto& [name, shape] : expected_tensor_shapes(model)) expected_[name] = shape;
    for (const auto& name : store_.names())
      if (ends_with(name, ".qweight")) prefixes_.insert(name.substr(0, name.size() - 8));
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& name : store_.names()) {
      bool part = false;
      for (const char* suffix : kPartSuffixes) {
        const std::string s = suffix;
        if (ends_with(name, s) && prefixes_.count(name.substr(0, name.size() - s.size()))) part = true;
      }
      if (!part) out.push_back(name);
    }
    for (const auto& prefix : prefixes_) out.push_back(prefix + ".weight");
    return out;
  }
  bool contains(const std::string& name) const override {
    return store_.contains(name) || prefixes_.count(prefix_of(name)) > 0;
  }
  std::vector<int64_t> shape(const std::string& name) const override {
    if (!is_quantized(name)) return store_.info(name).shape;
    return checked_shape(name);
  }
  std::string file_of(const std::string& name) const override {
    return store_.file_of(is_quantized(name) ? prefix_of(name) + ".qweight" : name);
  }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    if (!is_quantized(name)) return store_.load(name, dtype);
    // Dequantized into the model's ordinary weights (what products of many rows read); the kernels'
    // copy is handed over in load_gptq_checkpoint.
    return dequantize(matrix(name)).to(dtype);
  }

  // The quantized linears, by their ".weight" names.
  std::vector<std::string> quantized_names() const {
    std::vector<std::string> out;
    for (const auto& prefix : prefixes_) out.push_back(prefix + ".weight");
    return out;
  }

  GroupQuantizedMatrix matrix(const std::string& name) const {
    const std::vector<int64_t> shape = checked_shape(name);
    const std::string prefix = prefix_of(name);
    GptqTensors t;
    t.bits = config_.scheme.bits;
    t.out_features = shape[0];
    t.in_features = shape[1];
    const int64_t group_size = group_size_for(config_, t.in_features);
    t.groups = t.in_features / group_size;
    t.qweight = tensor_values<int32_t>(store_.load(prefix + ".qweight", torch::kInt32));
    t.qzeros = tensor_values<int32_t>(store_.load(prefix + ".qzeros", torch::kInt32));
    torch::Tensor scales = store_.load(prefix + ".scales", torch::kFloat16).contiguous();
    const auto* bits = reinterpret_cast<const uint16_t*>(scales.data_ptr<at::Half>());
    t.scales.assign(bits, bits + scales.numel());
    if (store_.contains(prefix + ".g_idx")) {
      t.g_idx = tensor_values<int32_t>(store_.load(prefix + ".g_idx", torch::kInt32));
    } else {
      for (int64_t k = 0; k < t.in_features; ++k) t.g_idx.push_back(static_cast<int32_t>(k / group_size));
    }
    return unpack_gptq(t, group_size, config_.zero_format, store_.file_of(prefix + ".qweight") + ": " + prefix);
  }

 private:
  static std::string prefix_of(const std::string& name) {
    return ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : std::string();
  }
  bool is_quantized(const std::string& name) const {
    return ends_with(name, ".weight") && prefixes_.count(prefix_of(name)) > 0;
  }

  // The (N, K) of quantized weight `name` after checking each part's dtype and shape against it.
  std::vector<int64_t> checked_shape(const std::string& name) const {
    const std::string prefix = prefix_of(name);
    const std::string file = store_.file_of(prefix + ".qweight");
    const int bits = config_.scheme.bits;
    const int64_t per_word = 32 / bits;
    const TensorInfo& qweight = store_.info(prefix + ".qweight");
    check(qweight.dtype == "I32", file, ": tensor '", prefix, ".qweight' has dtype ", qweight.dtype, ", expected I32");
    check(qweight.shape.size() == 2, file, ": tensor '", prefix, ".qweight' must be 2-D, got ", shape_text(qweight.shape));
    const auto expected = expected_.find(name);
    // Not part of the model: reported as an unexpected tensor by build_transformer.
    if (expected == expected_.end() || expected->second.size() != 2)
      return {qweight.shape[1], qweight.shape[0] * per_word};
    const int64_t N = expected->second[0], K = expected->second[1];
    check(K % per_word == 0 && N % per_word == 0, file, ": '", prefix, "' is (", N, ", ", K,
          "); the GPTQ layout needs both sizes to be multiples of ", per_word, " at ", bits, " bits");
    const int64_t group_size = group_size_for(config_, K);
    check(K % group_size == 0, file, ": '", prefix, "': group_size ", group_size, " does not divide in_features ", K);
    const int64_t G = K / group_size;
    auto expect = [&](const std::string& part, const std::vector<std::string>& dtypes, std::vector<int64_t> shape) {
      const std::string tensor = prefix + part;
      check(store_.contains(tensor), file, ": missing tensor '", tensor, "' (expected shape ", shape_text(shape), ")");
      const TensorInfo& info = store_.info(tensor);
      bool dtype_ok = false;
      for (const auto& d : dtypes) dtype_ok = dtype_ok || info.dtype == d;
      check(dtype_ok, store_.file_of(tensor), ": tensor '", tensor, "' has dtype ", info.dtype, ", expected ", dtypes[0]);
      check(info.shape == shape, store_.file_of(tensor), ": tensor '", tensor, "' has shape ", shape_text(info.shape),
            ", expected ", shape_text(shape), " for a ", bits, "-bit layer of ", N, " outputs and ", K, " inputs");
    };
    expect(".qweight", {"I32"}, {K / per_word, N});
    expect(".qzeros", {"I32"}, {G, N / per_word});
    expect(".scales", {"F16", "BF16", "F32"}, {G, N});
    if (store_.contains(prefix + ".g_idx")) expect(".g_idx", {"I32"}, {K});
    return {N, K};
  }

  TensorStore store_;
  QuantizationConfig config_;
  std::map<std::string, std::vector<int64_t>> expected_;
  std::set<std::string> prefixes_;
};

}  // namespace

bool is_quantized_checkpoint(const std::string& directory) {
  const fs::path path = fs::path(directory) / "config.json";
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return false;
  const nlohmann::json json = read_config_json(directory);
  return json.is_object() && json.contains("quantization_config");
}

QuantizationConfig load_quantization_config(const std::string& directory) {
  const std::string path = (fs::path(directory) / "config.json").string();
  const nlohmann::json json = read_config_json(directory);
  check(json.is_object() && json.contains("quantization_config"), path, ": missing key 'quantization_config'");
  return parse_quantization_config(json["quantization_config"], path);
}

std::shared_ptr<Transformer> load_gptq_checkpoint(const std::string& directory, const LoadOptions& options) {
  const QuantizationConfig quantization = load_quantization_config(directory);
  TransformerConfig config = load_transformer_config((fs::path(directory) / "config.json").string());
  GptqSource source(directory, quantization, config);
  std::shared_ptr<Transformer> model = build_transformer(std::move(config), source, directory, options);
  if (options.dequantize || !options.device.is_cpu()) return model;
  // The one place quantized linears reach the CPU kernels: every matrix whose groups the int8 / int4
  // kernels read (32, 64 or 128 in-features; 8 bits symmetric) is handed over as it is stored, so
  // decoding streams 4- or 8-bit weights; other group sizes stay dequantized only.
  for (const std::string& name : source.quantized_names()) {
    GroupQuantizedMatrix matrix = source.matrix(name);
    const bool kernel_groups = matrix.group_size == 32 || matrix.group_size == 64 || matrix.group_size == 128;
    if (kernel_groups && (matrix.bits == 4 || matrix.symmetric)) model->set_group_quantized(name, matrix);
  }
  return model;
}

void save_gptq_checkpoint(const Transformer& model, const std::map<std::string, GroupQuantizedMatrix>& quantized,
                          const QuantizationConfig& config, const std::string& directory) {
  fs::create_directories(directory);
  // Unquantized tensors keep the dtype the model was stored in (a bfloat16 checkpoint's embeddings stay
  // bfloat16 when it was loaded in float32 to be quantized).
  const std::string& stored = model.config().stored_dtype;
  const torch::ScalarType storage = stored == "bfloat16" ? torch::kBFloat16
                                    : stored == "float16" ? torch::kFloat16
                                                          : model.dtype();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::set<std::string> written;
  for (const auto& [name, parameter] : model.named_parameters()) {
    const auto entry = quantized.find(name);
    if (entry == quantized.end()) {
      tensors.emplace_back(name, parameter.detach().to(storage));
      continue;
    }
    written.insert(name);
    const GroupQuantizedMatrix& m = entry->second;
    const GptqTensors t = pack_gptq(m, config.zero_format);
    const int64_t per_word = 32 / m.bits;
    const std::string prefix = name.substr(0, name.size() - 7);  // drop ".weight"
    auto int32_tensor = [](const std::vector<int32_t>& values, std::vector<int64_t> shape) {
      return torch::from_blob(const_cast<int32_t*>(values.data()), shape, torch::kInt32).clone();
    };
    tensors.emplace_back(prefix + ".qweight", int32_tensor(t.qweight, {t.in_features / per_word, t.out_features}));
    tensors.emplace_back(prefix + ".qzeros", int32_tensor(t.qzeros, {t.groups, t.out_features / per_word}));
    tensors.emplace_back(prefix + ".scales",
                         torch::from_blob(const_cast<uint16_t*>(t.scales.data()), {t.groups, t.out_features},
                                          torch::kInt16)
                             .clone()
                             .view(torch::kFloat16));
    tensors.emplace_back(prefix + ".g_idx", int32_tensor(t.g_idx, {t.in_features}));
  }
  for (const auto& [name, matrix] : quantized)
    TORCH_INTERNAL_ASSERT(written.count(name), "quantized weight '", name, "' is not a model parameter");
  write_safetensors((fs::path(directory) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  TransformerConfig model_config = model.config();
  model_config.stored_dtype = storage == torch::kBFloat16 ? "bfloat16" : storage == torch::kFloat16 ? "float16" : "float32";
  nlohmann::json json = transformer_config_to_json(model_config);
  json["quantization_config"] = quantization_config_to_json(config);
  write_file_atomically((fs::path(directory) / "config.json").string(), json.dump(2) + "\n");
}

QuantizedStorage quantized_storage(const std::string& directory) {
  const TensorStore store(directory);
  QuantizedStorage out;
  for (const auto& name : store.names()) {
    const TensorInfo& info = store.info(name);
    const auto bytes = static_cast<int64_t>(info.end - info.begin);
    out.total_bytes += bytes;
    for (const char* suffix : kPartSuffixes)
      if (ends_with(name, suffix)) out.quantized_bytes += bytes;
    if (ends_with(name, ".qweight")) ++out.quantized_linears;
  }
  return out;
}

}  // namespace stepwise
