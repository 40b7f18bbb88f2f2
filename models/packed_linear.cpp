// PackedLinears: a model's bfloat16 weights read in place and its group-quantized ones packed for
// core/kernels, small products run on them with the output features split over the torch intra-op
// threads (models/kernel_split.h).
#include "models/packed_linear.h"

#include <torch/torch.h>

#include <atomic>

#include "models/kernel_split.h"

namespace stepwise {
namespace {

std::atomic<bool> kernels_enabled{true};
std::atomic<int64_t> kernel_products{0};

std::string format_label(const kernels::PackedWeight& packed) {
  std::string label = kernels::format_name(packed.format);
  if (packed.group_size > 0) label += " g" + std::to_string(packed.group_size);
  if (!packed.zero_offsets.empty()) label += " zero points";
  return label;
}

}  // namespace

void set_linear_kernels_enabled(bool enabled) { kernels_enabled.store(enabled); }
bool linear_kernels_enabled() { return kernels_enabled.load(); }
int64_t linear_kernel_products() { return kernel_products.load(); }

std::shared_ptr<PackedLinears> PackedLinears::create(const std::vector<torch::Tensor>& weights) {
  auto out = std::make_shared<PackedLinears>();
  for (const torch::Tensor& weight : weights) {
    if (weight.defined() && weight.device().is_cpu() && weight.scalar_type() == torch::kBFloat16 && weight.dim() == 2) {
      out->isa_ = kernels::active_isa();
      out->isa_chosen_ = true;
      kernel_split();  // a bad STEPWISE_KERNEL_THREADS fails here, at load
      break;
    }
  }
  return out;
}

void PackedLinears::set_quantized(const torch::Tensor& weight, kernels::PackedWeight packed,
                                  const torch::Tensor& replaced) {
  TORCH_INTERNAL_ASSERT(weight.device().is_cpu() && weight.dim() == 2 && weight.size(0) == packed.out_features &&
                        weight.size(1) == packed.in_features);
  if (replaced.defined()) entries_.erase(replaced.unsafeGetTensorImpl());
  isa_ = kernels::active_isa();
  isa_chosen_ = true;
  kernel_split();  // likewise for a quantized model
  Entry entry;
  entry.packed = std::make_shared<const kernels::PackedWeight>(std::move(packed));
  entry.data = weight.data_ptr();
  entry.version = weight._version();
  entries_[weight.unsafeGetTensorImpl()] = std::move(entry);
}

int64_t PackedLinears::packed_bytes() const {
  int64_t total = 0;
  for (const auto& item : entries_) total += item.second.packed->bytes();
  return total;
}

std::optional<int64_t> PackedLinears::packed_bytes_of(const torch::Tensor& weight) const {
  const auto found = entries_.find(weight.unsafeGetTensorImpl());
  if (found == entries_.end()) return std::nullopt;
  return found->second.packed->bytes();
}

std::map<std::string, PackedLinears::FormatTotal> PackedLinears::format_totals() const {
  std::map<std::string, FormatTotal> out;
  for (const auto& item : entries_) {
    FormatTotal& total = out[format_label(*item.second.packed)];
    ++total.tensors;
    total.bytes += item.second.packed->bytes();
  }
  return out;
}

std::optional<torch::Tensor> PackedLinears::linear(const torch::Tensor& x, const torch::Tensor& weight,
                                                   const torch::Tensor& bias) const {
  if (!linear_kernels_enabled() || !x.device().is_cpu() || !isa_chosen_ || weight.requires_grad())
    return std::nullopt;
  // The operand: a bfloat16 weight read in place (bfloat16 x), or the packed quantized one (float32 or
  // bfloat16 x) while the weight tensor is as it was when packed.
  const bool bfloat16_x = x.scalar_type() == torch::kBFloat16;
  if (!bfloat16_x && x.scalar_type() != torch::kFloat32) return std::nullopt;
  kernels::PackedWeight view;
  const kernels::PackedWeight* operand = nullptr;
  const auto found = entries_.find(weight.unsafeGetTensorImpl());
  if (found != entries_.end()) {
    const Entry& entry = found->second;
    if (weight.data_ptr() != entry.data || weight._version() != entry.version) return std::nullopt;
    operand = entry.packed.get();
  } else {
    if (!bfloat16_x || !weight.device().is_cpu() || weight.scalar_type() != torch::kBFloat16 || weight.dim() != 2 ||
        weight.numel() == 0 || !weight.is_contiguous())
      return std::nullopt;
    view = kernels::view_bfloat16(reinterpret_cast<const uint16_t*>(weight.data_ptr<at::BFloat16>()), weight.size(0),
                                  weight.size(1), "linear weight");
    operand = &view;
  }
  if (torch::GradMode::is_enabled() && (x.requires_grad() || (bias.defined() && bias.requires_grad())))
    return std::nullopt;
  const kernels::PackedWeight& packed = *operand;
  const int64_t in_features = packed.in_features, out_features = packed.out_features;
  if (x.dim() < 1 || x.size(-1) != in_features || x.numel() == 0) return std::nullopt;
  const int64_t rows = x.numel() / in_features;
  if (rows > kernels::kMaxRows) return std::nullopt;

  const torch::Tensor input = x.reshape({rows, in_features}).contiguous();  // (M, K) float32 or bfloat16
  torch::Tensor output = torch::empty({rows, out_features}, x.options().dtype(torch::kFloat32));  // (M, N)
  const kernels::Activations activations{
      input.data_ptr(), bfloat16_x ? kernels::ElementType::kBFloat16 : kernels::ElementType::kFloat32, rows,
      in_features};
  split_matmul(packed, activations, output.data_ptr<float>(), out_features, isa_);
  kernel_products.fetch_add(1, std::memory_order_relaxed);
  if (bias.defined()) output.add_(bias.to(torch::kFloat32));
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out_features;
  return output.to(x.scalar_type()).view(shape);
}

}  // namespace stepwise
