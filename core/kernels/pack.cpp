// Repacking of bfloat16 / int8 / int4 weight matrices into the panel layout of kernels.h, with the shape
// checks that keep a bad tensor from ever sizing an allocation, plus the scalar element conversions.
#include <cstring>
#include <new>

#include "core/error.h"
#include "core/kernels/kernel_paths.h"
#include "core/kernels/kernels.h"

namespace stepwise::kernels {
namespace {

constexpr int64_t kMaxDimension = int64_t{1} << 30;
constexpr int64_t kMaxElements = int64_t{1} << 38;  // 256 Gi weights: far above any model, below overflow
constexpr float kZeroOffsetBase = 8388608.0f;       // 2^23: (2^23 + q) - (2^23 + z) = q - z exactly

AlignedBytes allocate(int64_t bytes) {
  const size_t rounded = static_cast<size_t>((bytes + 63) / 64 * 64);
  void* pointer = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (pointer == nullptr) throw std::bad_alloc();
  std::memset(pointer, 0, rounded == 0 ? 64 : rounded);
  return AlignedBytes(static_cast<uint8_t*>(pointer));
}

void check_shape(const char* kind, const std::string& name, const void* data, int64_t out_features,
                 int64_t in_features) {
  check(data != nullptr, kind, " weight '", name, "': no data");
  check(out_features >= 1 && out_features <= kMaxDimension && in_features >= 1 && in_features <= kMaxDimension &&
            out_features * in_features <= kMaxElements,
        kind, " weight '", name, "': shape (", out_features, ", ", in_features, ") is empty or too large");
}

void check_groups(const char* kind, const std::string& name, int64_t in_features, int64_t group_size) {
  check(group_size == 32 || group_size == 64 || group_size == 128, kind, " weight '", name, "': group size ",
        group_size, " is not one of 32, 64, 128");
  check(in_features % group_size == 0, kind, " weight '", name, "': group size ", group_size,
        " does not divide the in-features ", in_features);
}

// Scales (N, K / group) as float32 in the packed order [panel][group][16]; padding features get scale 0.
std::vector<float> pack_scales(const char* kind, const std::string& name, const ScaleMatrix& scales,
                               int64_t out_features, int64_t groups) {
  check(scales.data != nullptr, "scales of ", kind, " weight '", name, "': no data");
  check(scales.rows == out_features && scales.cols == groups, "scales of ", kind, " weight '", name, "' are (",
        scales.rows, ", ", scales.cols, "), expected (", out_features, ", ", groups, ")");
  check(scales.type == ElementType::kFloat32 || scales.type == ElementType::kFloat16, "scales of ", kind,
        " weight '", name, "' must be float32 or float16");
  const int64_t panels = (out_features + kPanelWidth - 1) / kPanelWidth;
  std::vector<float> packed(static_cast<size_t>(panels * groups * kPanelWidth), 0.0f);
  for (int64_t n = 0; n < out_features; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t index = n * groups + g;
      float value;
      if (scales.type == ElementType::kFloat32) {
        std::memcpy(&value, static_cast<const float*>(scales.data) + index, sizeof value);
      } else {
        value = float16_to_float(static_cast<const uint16_t*>(scales.data)[index]);
      }
      packed[static_cast<size_t>(((n / kPanelWidth) * groups + g) * kPanelWidth + n % kPanelWidth)] = value;
    }
  }
  return packed;
}

}  // namespace

const char* format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kBFloat16: return "bfloat16";
    case WeightFormat::kInt8: return "int8";
    case WeightFormat::kInt4: return "int4";
  }
  return "?";
}

float bfloat16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

uint16_t float_to_bfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float float16_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0x1f) {
    out = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN
  } else if (exponent != 0) {
    out = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;
  } else {  // subnormal: normalise
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    out = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &out, sizeof value);
  return value;
}

int64_t PackedWeight::bytes() const {
  if (format == WeightFormat::kBFloat16) return out_features * in_features * 2;
  return panels() * panel_bytes + static_cast<int64_t>((scales.size() + zero_offsets.size()) * sizeof(float));
}

float PackedWeight::weight_at(int64_t n, int64_t k) const {
  const int64_t panel = n / kPanelWidth, lane = n % kPanelWidth;
  const uint8_t* base = weight_data() + panel * panel_bytes;
  switch (format) {
    case WeightFormat::kBFloat16:
      return bfloat16_to_float(reinterpret_cast<const uint16_t*>(weight_data())[n * in_features + k]);
    case WeightFormat::kInt8: {
      const float scale = scales[static_cast<size_t>((panel * groups() + k / group_size) * kPanelWidth + lane)];
      return static_cast<float>(reinterpret_cast<const int8_t*>(base)[k * kPanelWidth + lane]) * scale;
    }
    case WeightFormat::kInt4: {
      const size_t at = static_cast<size_t>((panel * groups() + k / group_size) * kPanelWidth + lane);
      const uint8_t byte = base[(k / 2) * kPanelWidth + lane];
      const float q = static_cast<float>(k % 2 == 0 ? byte & 0x0f : byte >> 4);
      const float zero = zero_offsets.empty() ? kZeroOffsetBase + 8.0f : zero_offsets[at];
      return ((kZeroOffsetBase + q) - zero) * scales[at];
    }
  }
  return 0.0f;
}

PackedWeight view_bfloat16(const uint16_t* weight, int64_t out_features, int64_t in_features,
                           const std::string& name) {
  check_shape("bfloat16", name, weight, out_features, in_features);
  PackedWeight view;
  view.format = WeightFormat::kBFloat16;
  view.out_features = out_features;
  view.in_features = in_features;
  view.panel_bytes = kPanelWidth * in_features * 2;
  view.borrowed = reinterpret_cast<const uint8_t*>(weight);
  return view;
}

PackedWeight pack_bfloat16(const uint16_t* weight, int64_t out_features, int64_t in_features,
                           const std::string& name) {
  PackedWeight packed = view_bfloat16(weight, out_features, in_features, name);
  packed.data = allocate(out_features * in_features * 2);
  std::memcpy(packed.data.get(), weight, static_cast<size_t>(out_features * in_features) * 2);
  packed.borrowed = nullptr;
  return packed;
}

PackedWeight pack_int8(const int8_t* values, int64_t out_features, int64_t in_features, int64_t group_size,
                       const ScaleMatrix& scales, const std::string& name) {
  check_shape("int8", name, values, out_features, in_features);
  check_groups("int8", name, in_features, group_size);
  PackedWeight packed;
  packed.format = WeightFormat::kInt8;
  packed.out_features = out_features;
  packed.in_features = in_features;
  packed.group_size = group_size;
  packed.scales = pack_scales("int8", name, scales, out_features, packed.groups());
  packed.panel_bytes = in_features * kPanelWidth;
  packed.data = allocate(packed.panels() * packed.panel_bytes);
  auto* out = reinterpret_cast<int8_t*>(packed.data.get());
  for (int64_t n = 0; n < out_features; ++n) {
    int8_t* panel = out + (n / kPanelWidth) * packed.panel_bytes;
    const int64_t lane = n % kPanelWidth;
    for (int64_t k = 0; k < in_features; ++k) panel[k * kPanelWidth + lane] = values[n * in_features + k];
  }
  return packed;
}

PackedWeight pack_int4(const uint8_t* values, int64_t out_features, int64_t in_features, int64_t group_size,
                       const ScaleMatrix& scales, const uint8_t* zero_points, int64_t zero_rows, int64_t zero_cols,
                       const std::string& name) {
  check_shape("int4", name, values, out_features, in_features);
  check_groups("int4", name, in_features, group_size);
  PackedWeight packed;
  packed.format = WeightFormat::kInt4;
  packed.out_features = out_features;
  packed.in_features = in_features;
  packed.group_size = group_size;
  const int64_t groups = packed.groups();
  packed.scales = pack_scales("int4", name, scales, out_features, groups);
  if (zero_points != nullptr) {
    check(zero_rows == out_features && zero_cols == groups, "zero points of int4 weight '", name, "' are (",
          zero_rows, ", ", zero_cols, "), expected (", out_features, ", ", groups, ")");
  }
  if (zero_points != nullptr) {
    packed.zero_offsets.assign(packed.scales.size(), kZeroOffsetBase + 8.0f);
    for (int64_t n = 0; n < out_features; ++n) {
      for (int64_t g = 0; g < groups; ++g) {
        const uint8_t zero = zero_points[n * groups + g];
        check(zero <= 15, "zero point ", static_cast<int>(zero), " of int4 weight '", name, "' at (", n, ", ", g,
              ") is not in 0..15");
        packed.zero_offsets[static_cast<size_t>(((n / kPanelWidth) * groups + g) * kPanelWidth + n % kPanelWidth)] =
            kZeroOffsetBase + static_cast<float>(zero);
      }
    }
  }
  const int64_t half = in_features / 2;
  packed.panel_bytes = half * kPanelWidth;
  packed.data = allocate(packed.panels() * packed.panel_bytes);
  uint8_t* out = packed.data.get();
  for (int64_t n = 0; n < out_features; ++n) {
    uint8_t* panel = out + (n / kPanelWidth) * packed.panel_bytes;
    const int64_t lane = n % kPanelWidth;
    for (int64_t pair = 0; pair < half; ++pair) panel[pair * kPanelWidth + lane] = values[n * half + pair];
  }
  return packed;
}

}  // namespace stepwise::kernels
