// Group quantization after AutoRound's integer quantizers: asymmetric groups map [min*min_scale,
// max*max_scale] (min clamped to <= 0, max to >= 0) onto 0..2^bits-1 with a rounded zero point;
// symmetric groups use the larger magnitude on both sides and zero point 2^(bits-1).
#include "models/quantization/group_quantizer.h"

#include <torch/torch.h>

#include "core/error.h"

namespace stepwise {
namespace {

// AutoRound's floor on scales (float16 scales), so a constant group never divides by zero.
constexpr double kMinScale = 1e-5;

struct GroupGrid {
  torch::Tensor scale;  // (N, G, 1) float32, exactly representable in float16
  torch::Tensor zero;   // (N, G, 1) float32 integer-valued
  torch::Tensor codes;  // (N, G, g) float32 integer-valued in [0, 2^bits - 1]
};

torch::Tensor round_straight_through(const torch::Tensor& x) { return x + (torch::round(x) - x).detach(); }

GroupGrid quantize_groups(const torch::Tensor& weight, const QuantizationScheme& scheme,
                          const RoundingParameters& parameters) {
  TORCH_CHECK(weight.dim() == 2, "quantize: weight must be (N, K)");
  const int64_t rows = weight.size(0), columns = weight.size(1), groups = columns / scheme.group_size;
  TORCH_CHECK(groups * scheme.group_size == columns, "quantize: group size does not divide in_features");
  const double max_code = static_cast<double>((1 << scheme.bits) - 1);
  torch::Tensor w = weight.to(torch::kFloat32).reshape({rows, groups, scheme.group_size});  // (N, G, g)
  torch::Tensor low = std::get<0>(w.min(-1)).clamp_max(0.0);   // (N, G)
  torch::Tensor high = std::get<0>(w.max(-1)).clamp_min(0.0);  // (N, G)
  if (parameters.min_scale.defined()) low = low * parameters.min_scale;
  if (parameters.max_scale.defined()) high = high * parameters.max_scale;
  torch::Tensor zero;
  if (scheme.symmetric) {
    torch::Tensor magnitude = torch::maximum(low.abs(), high);
    low = torch::where(low < 0, -magnitude, low);
    high = magnitude;
  }
  const torch::Tensor empty = (low == 0) & (high == 0);  // an all-zero group gets the range [-1, 1]
  low = torch::where(empty, torch::full_like(low, -1.0), low);
  high = torch::where(empty, torch::full_like(high, 1.0), high);
  // Rounded to float16 (as stored), gradients passing straight through the rounding.
  torch::Tensor scale = (high - low) / max_code;
  scale = scale + (scale.to(torch::kFloat16).to(torch::kFloat32) - scale).detach();
  scale = scale.clamp_min(kMinScale).unsqueeze(-1);  // (N, G, 1)
  if (scheme.symmetric) {
    zero = torch::full_like(scale, static_cast<double>(1 << (scheme.bits - 1)));
  } else {
    // GPTQ v1 stores zero point - 1 in bits bits, so 0 cannot be written: the smallest zero point is 1.
    zero = round_straight_through(-low.unsqueeze(-1) / scale).clamp(1.0, max_code);
  }
  torch::Tensor offsets = parameters.offsets.defined()
                              ? parameters.offsets.reshape({rows, groups, scheme.group_size})
                              : torch::zeros_like(w);
  torch::Tensor codes = (round_straight_through(w / scale + offsets) + zero).clamp(0.0, max_code);
  return {scale, zero, codes};
}

}  // namespace

void validate_scheme(const QuantizationScheme& scheme, const std::string& where) {
  check(scheme.bits == 4 || scheme.bits == 8, where, ": bits must be 4 or 8, got ", scheme.bits);
  check(scheme.group_size >= 1, where, ": group size must be at least 1, got ", scheme.group_size);
  check(scheme.bits == 4 || scheme.symmetric, where,
        ": 8-bit weights are stored symmetric (int8 has no zero point); use sym");
}

void check_groups_divide(const QuantizationScheme& scheme, int64_t in_features, const std::string& tensor) {
  check(in_features % scheme.group_size == 0, tensor, ": group size ", scheme.group_size,
        " does not divide in_features ", in_features);
}

torch::Tensor fake_quantize(const torch::Tensor& weight, const QuantizationScheme& scheme,
                            const RoundingParameters& parameters) {
  const GroupGrid grid = quantize_groups(weight, scheme, parameters);
  return (grid.scale * (grid.codes - grid.zero)).reshape(weight.sizes());
}

GroupQuantizedMatrix quantize_weight(const torch::Tensor& weight, const QuantizationScheme& scheme,
                                     const RoundingParameters& parameters) {
  torch::NoGradGuard no_grad;
  const GroupGrid grid = quantize_groups(weight.detach(), scheme, parameters);
  GroupQuantizedMatrix out;
  out.bits = scheme.bits;
  out.out_features = weight.size(0);
  out.in_features = weight.size(1);
  out.group_size = scheme.group_size;
  out.symmetric = scheme.symmetric;
  // 8 bits: q - 128 as int8; 4 bits: q itself (0..15).
  torch::Tensor codes = grid.codes.reshape({out.out_features, out.in_features}).to(torch::kInt32);
  if (scheme.bits == 8) codes = codes - 128;
  codes = codes.to(torch::kInt8).contiguous();
  out.values.assign(codes.data_ptr<int8_t>(), codes.data_ptr<int8_t>() + codes.numel());
  torch::Tensor scales = grid.scale.reshape({out.out_features, -1}).contiguous();
  check(torch::isfinite(scales).all().item<bool>(), "quantize: a weight group is too large for float16 scales");
  out.scales.assign(scales.data_ptr<float>(), scales.data_ptr<float>() + scales.numel());
  if (!scheme.symmetric) {
    torch::Tensor zeros = grid.zero.reshape({out.out_features, -1}).to(torch::kUInt8).contiguous();
    out.zero_points.assign(zeros.data_ptr<uint8_t>(), zeros.data_ptr<uint8_t>() + zeros.numel());
  }
  return out;
}

torch::Tensor dequantize(const GroupQuantizedMatrix& m) {
  const int64_t groups = m.in_features / m.group_size;
  const auto rows = static_cast<size_t>(m.out_features);
  TORCH_INTERNAL_ASSERT(m.values.size() == rows * static_cast<size_t>(m.in_features));
  TORCH_INTERNAL_ASSERT(m.scales.size() == rows * static_cast<size_t>(groups));
  torch::Tensor q = torch::from_blob(const_cast<int8_t*>(m.values.data()), {m.out_features, groups, m.group_size},
                                     torch::kInt8)
                        .to(torch::kFloat32);  // (N, G, g)
  torch::Tensor scale =
      torch::from_blob(const_cast<float*>(m.scales.data()), {m.out_features, groups, 1}, torch::kFloat32);
  torch::Tensor zero;
  if (m.bits == 8) {
    zero = torch::zeros({1}, torch::kFloat32);
  } else if (m.symmetric) {
    zero = torch::full({1}, 8.0, torch::kFloat32);
  } else {
    TORCH_INTERNAL_ASSERT(m.zero_points.size() == m.scales.size());
    zero = torch::from_blob(const_cast<uint8_t*>(m.zero_points.data()), {m.out_features, groups, 1}, torch::kUInt8)
               .to(torch::kFloat32);
  }
  return ((q - zero) * scale).reshape({m.out_features, m.in_features});
}

}  // namespace stepwise
