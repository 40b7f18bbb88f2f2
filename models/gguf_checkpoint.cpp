// A GGUF file as a TensorSource: Hugging Face names over GGUF ones, torch-order shapes, dequantization
// into float32 then the load dtype, and the inverse of the converter's Q/K row permutation; Q8_0 and
// Q4_0 weights also as group-quantized matrices for the int8 / int4 kernels.
#include "models/gguf_checkpoint.h"

#include <torch/torch.h>

#include <cstring>
#include <map>
#include <sstream>

#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/error.h"
#include "core/gguf_dequant.h"
#include "core/gguf_writer.h"
#include "models/gguf_layout.h"
#include "models/group_quantized.h"
#include "models/tensor_source.h"

namespace stepwise {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's converter stores the rows of Q and K, viewed as (heads, 2, D/2), as (heads, D/2, 2): the
// two halves rotate_half pairs become interleaved pairs. `to_gguf` applies that order, otherwise undoes
// it. w: (heads * D[, H]).
torch::Tensor permute_rows(const torch::Tensor& w, int64_t heads, bool to_gguf) {
  const int64_t half = w.size(0) / heads / 2;
  std::vector<int64_t> split = to_gguf ? std::vector<int64_t>{heads, 2, half} : std::vector<int64_t>{heads, half, 2};
  for (int64_t d = 1; d < w.dim(); ++d) split.push_back(w.size(d));
  return w.reshape(split).transpose(1, 2).reshape(w.sizes()).contiguous();
}

class GgufSource : public TensorSource {
 public:
  GgufSource(const GgufFile& file, const TransformerConfig& config)
      : file_(file), config_(config), permuted_(gguf_permutes_qk(file.string("general.architecture"))) {}

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& info : file_.tensors()) out.push_back(hf_tensor_name(info.name).value_or(info.name));
    return out;
  }
  bool contains(const std::string& name) const override {
    const auto gguf = gguf_tensor_name(name);
    return gguf && file_.contains(*gguf);
  }
  std::vector<int64_t> shape(const std::string& name) const override { return info(name).shape(); }
  std::string file_of(const std::string&) const override { return file_.path(); }

  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    const GgufTensorInfo& tensor = info(name);
    torch::Tensor values = torch::empty(tensor.shape(), torch::kFloat32);  // torch order
    dequantize(tensor.type, file_.data(tensor), tensor.elements(), values.data_ptr<float>());
    if (permuted_) {
      if (ends_with(name, "self_attn.q_proj.weight") || ends_with(name, "self_attn.q_proj.bias"))
        values = unpermute(values, config_.num_heads);
      else if (ends_with(name, "self_attn.k_proj.weight") || ends_with(name, "self_attn.k_proj.bias"))
        values = unpermute(values, config_.num_kv_heads);
    }
    return values.to(dtype);
  }

  // The tensor `name` as int8 / int4 groups of 32 when it is a Q8_0 or Q4_0 2-D weight (Q8_0: q * d;
  // Q4_0: (q - 8) * d, d the block's float16 scale: ggml's dequantization), Q/K rows in the Hugging
  // Face order; nullopt for every other tensor.
  std::optional<GroupQuantizedMatrix> group_quantized(const std::string& name) const {
    const GgufTensorInfo& tensor = info(name);
    if ((tensor.type != GgmlType::kQ8_0 && tensor.type != GgmlType::kQ4_0) || tensor.dims.size() != 2)
      return std::nullopt;
    GroupQuantizedMatrix m;
    m.bits = tensor.type == GgmlType::kQ8_0 ? 8 : 4;
    m.out_features = tensor.dims[1];
    m.in_features = tensor.dims[0];
    m.group_size = 32;
    m.symmetric = true;
    const int64_t blocks = tensor.elements() / 32;
    const int64_t block_bytes = ggml_block_bytes(tensor.type);
    m.values.resize(static_cast<size_t>(tensor.elements()));
    m.scales.resize(static_cast<size_t>(blocks));
    const uint8_t* data = file_.data(tensor);
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* block = data + b * block_bytes;
      m.scales[static_cast<size_t>(b)] = half_to_float(static_cast<uint16_t>(block[0] | (block[1] << 8)));
      int8_t* out = m.values.data() + b * 32;
      if (m.bits == 8) {
        std::memcpy(out, block + 2, 32);
      } else {
        for (int j = 0; j < 16; ++j) {  // element j: low nibble of byte j; element j + 16: its high nibble
          out[j] = static_cast<int8_t>(block[2 + j] & 0x0f);
          out[j + 16] = static_cast<int8_t>(block[2 + j] >> 4);
        }
      }
    }
    if (permuted_) {
      if (ends_with(name, "self_attn.q_proj.weight")) reorder_rows(m, config_.num_heads);
      else if (ends_with(name, "self_attn.k_proj.weight")) reorder_rows(m, config_.num_kv_heads);
    }
    return m;
  }

 private:
  const GgufTensorInfo& info(const std::string& name) const {
    const auto gguf = gguf_tensor_name(name);
    check(gguf.has_value(), file_.path(), ": no GGUF name for tensor '", name, "'");
    return file_.tensor(*gguf);
  }
  torch::Tensor unpermute(const torch::Tensor& w, int64_t heads) const {
    check(w.size(0) % (2 * heads) == 0, file_.path(), ": Q/K rows (", w.size(0), ") are not a multiple of 2 x ",
          heads, " heads");
    return permute_rows(w, heads, /*to_gguf=*/false);
  }
  // The rows of `m` (heads * D of them) in the order unpermute gives a dense weight.
  void reorder_rows(GroupQuantizedMatrix& m, int64_t heads) const {
    check(m.out_features % (2 * heads) == 0, file_.path(), ": Q/K rows (", m.out_features,
          ") are not a multiple of 2 x ", heads, " heads");
    const torch::Tensor order = permute_rows(torch::arange(m.out_features, torch::kInt64), heads, false);  // (N)
    const int64_t k = m.in_features, groups = m.in_features / m.group_size;
    const std::vector<int8_t> values = m.values;
    const std::vector<float> scales = m.scales;
    const int64_t* source = order.data_ptr<int64_t>();
    for (int64_t row = 0; row < m.out_features; ++row) {
      std::memcpy(m.values.data() + row * k, values.data() + source[row] * k, static_cast<size_t>(k));
      std::memcpy(m.scales.data() + row * groups, scales.data() + source[row] * groups,
                  static_cast<size_t>(groups) * sizeof(float));
    }
  }

  const GgufFile& file_;
  const TransformerConfig& config_;
  bool permuted_;
};

}  // namespace

std::shared_ptr<Transformer> load_gguf_checkpoint(const std::string& path, const LoadOptions& options) {
  const GgufFile file(path);
  const TransformerConfig config = gguf_transformer_config(file);
  const GgufSource source(file, config);
  std::shared_ptr<Transformer> model = build_transformer(config, source, path, options);
  if (options.dequantize) return model;
  for (const std::string& name : source.names()) {
    const bool linear = ends_with(name, "_proj.weight") || name == "model.embed_tokens.weight" ||
                        (name == "lm_head.weight" && !model->config().tie_word_embeddings);
    if (!linear) continue;
    if (std::optional<GroupQuantizedMatrix> matrix = source.group_quantized(name))
      model->set_group_quantized(name, *matrix);
  }
  return model;
}

GgmlType gguf_tensor_type_for(const std::vector<int64_t>& shape, GgmlType weight_type) {
  if (shape.size() < 2) return GgmlType::kF32;
  if (shape.back() % ggml_block_elements(weight_type) != 0) return GgmlType::kF32;
  return weight_type;
}

void save_gguf_checkpoint(const Transformer& model, const std::string& path, const GgufSaveOptions& options) {
  const GgmlType w = options.weight_type;
  check(w == GgmlType::kF32 || w == GgmlType::kF16 || w == GgmlType::kBF16 || w == GgmlType::kQ8_0 ||
            w == GgmlType::kQ4_0,
        path, ": GGUF files are written as f32, f16, bf16, q8_0 or q4_0, not ", ggml_type_name(w));
  const TransformerConfig& config = model.config();
  GgufWriter writer;
  add_gguf_model_metadata(writer, config, w);
  if (options.tokenizer_json) {
    add_gguf_tokenizer(writer, *options.tokenizer_json, config.vocab_size);
  } else {
    writer.add_string("tokenizer.ggml.model", "none");
  }
  if (options.chat_template) writer.add_string("tokenizer.chat_template", *options.chat_template);

  const bool permuted = gguf_permutes_qk(gguf_architecture_of(config));
  for (const auto& [name, parameter] : model.named_parameters()) {
    if (name == "lm_head.weight" && config.tie_word_embeddings) continue;
    const auto gguf_name = gguf_tensor_name(name);
    check(gguf_name.has_value(), path, ": tensor '", name, "' has no GGUF name");
    torch::Tensor values = parameter.detach().to(torch::kCPU, torch::kFloat32).contiguous();  // torch order
    if (permuted && (ends_with(name, "q_proj.weight") || ends_with(name, "q_proj.bias")))
      values = permute_rows(values, config.num_heads, /*to_gguf=*/true);
    if (permuted && (ends_with(name, "k_proj.weight") || ends_with(name, "k_proj.bias")))
      values = permute_rows(values, config.num_kv_heads, /*to_gguf=*/true);
    const std::vector<int64_t> shape = values.sizes().vec();
    const GgmlType type = gguf_tensor_type_for(shape, w);
    writer.add_tensor(*gguf_name, shape, type, [values, type](uint8_t* out) {
      const float* x = values.data_ptr<float>();
      const int64_t n = values.numel();
      switch (type) {
        case GgmlType::kF32: std::memcpy(out, x, static_cast<size_t>(n) * 4); break;
        case GgmlType::kF16:
        case GgmlType::kBF16:
          for (int64_t i = 0; i < n; ++i) {
            const uint16_t bits = type == GgmlType::kF16 ? float_to_half(x[i]) : float_to_bfloat16(x[i]);
            out[2 * i] = static_cast<uint8_t>(bits & 0xFF);
            out[2 * i + 1] = static_cast<uint8_t>(bits >> 8);
          }
          break;
        default: quantize(type, x, n, out); break;
      }
    });
  }
  writer.write(path);
}

std::string gguf_tensor_type_summary(const GgufFile& file) {
  std::map<std::string, int> counts;
  for (const auto& info : file.tensors()) ++counts[ggml_type_name(info.type)];
  std::ostringstream out;
  bool first = true;
  for (const auto& [type, count] : counts) {
    out << (first ? "" : ", ") << type << ": " << count;
    first = false;
  }
  return out.str();
}

}  // namespace stepwise
