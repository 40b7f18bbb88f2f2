// GroupQuantizedMatrix: the checks that keep a bad matrix from reaching the kernels, its float32
// dequantization and its repacking into core/kernels panels.
#include "models/group_quantized.h"

#include <cmath>

#include "core/error.h"

namespace stepwise {
namespace {

constexpr int64_t kMaxDimension = int64_t{1} << 30;

}  // namespace

void check_group_quantized(const GroupQuantizedMatrix& m, const std::string& name) {
  const std::string what = "group-quantized weight '" + name + "'";
  check(m.bits == 8 || m.bits == 4, what, ": ", m.bits, " bits, expected 8 or 4");
  check(m.out_features >= 1 && m.out_features <= kMaxDimension && m.in_features >= 1 &&
            m.in_features <= kMaxDimension,
        what, ": shape (", m.out_features, ", ", m.in_features, ") is empty or too large");
  check(m.group_size == 32 || m.group_size == 64 || m.group_size == 128, what, ": group size ", m.group_size,
        " is not one of 32, 64, 128");
  check(m.in_features % m.group_size == 0, what, ": group size ", m.group_size, " does not divide the in-features ",
        m.in_features);
  const int64_t elements = m.out_features * m.in_features;
  const int64_t groups = elements / m.group_size;
  check(static_cast<int64_t>(m.values.size()) == elements, what, ": ", m.values.size(), " values, expected ",
        elements, " (", m.out_features, " x ", m.in_features, ")");
  check(static_cast<int64_t>(m.scales.size()) == groups, what, ": ", m.scales.size(), " scales, expected ", groups,
        " (", m.out_features, " x ", m.in_features / m.group_size, ")");
  for (size_t i = 0; i < m.scales.size(); ++i)
    check(std::isfinite(m.scales[i]), what, ": scale ", i, " is not finite");
  if (m.bits == 8) {
    check(m.symmetric, what, ": int8 weights are symmetric (no zero points)");
    check(m.zero_points.empty(), what, ": int8 weights have no zero points");
    return;
  }
  for (size_t i = 0; i < m.values.size(); ++i)
    check(m.values[i] >= 0 && m.values[i] <= 15, what, ": int4 value ", static_cast<int>(m.values[i]), " at ", i,
          " is not in 0..15");
  if (m.symmetric) {
    check(m.zero_points.empty(), what, ": symmetric int4 weights have no zero points");
    return;
  }
  check(static_cast<int64_t>(m.zero_points.size()) == groups, what, ": ", m.zero_points.size(),
        " zero points, expected ", groups);
  for (size_t i = 0; i < m.zero_points.size(); ++i)
    check(m.zero_points[i] <= 15, what, ": zero point ", static_cast<int>(m.zero_points[i]), " at ", i,
          " is not in 0..15");
}

std::vector<float> dequantize_group_quantized(const GroupQuantizedMatrix& m) {
  const int64_t k_count = m.in_features, groups_per_row = m.in_features / m.group_size;
  std::vector<float> out(m.values.size());
  for (int64_t n = 0; n < m.out_features; ++n) {
    for (int64_t k = 0; k < k_count; ++k) {
      const size_t at = static_cast<size_t>(n * k_count + k);
      const size_t group = static_cast<size_t>(n * groups_per_row + k / m.group_size);
      int q = m.values[at];
      if (m.bits == 4) q -= m.symmetric ? 8 : m.zero_points[group];
      out[at] = static_cast<float>(q) * m.scales[group];
    }
  }
  return out;
}

kernels::PackedWeight pack_group_quantized(const GroupQuantizedMatrix& m, const std::string& name) {
  const kernels::ScaleMatrix scales{m.scales.data(), kernels::ElementType::kFloat32, m.out_features,
                                    m.in_features / m.group_size};
  if (m.bits == 8) return kernels::pack_int8(m.values.data(), m.out_features, m.in_features, m.group_size, scales, name);
  // Two int4 values per byte, low nibble = even k (the kernels' input layout).
  const int64_t half = m.in_features / 2;
  std::vector<uint8_t> nibbles(static_cast<size_t>(m.out_features * half));
  for (size_t i = 0; i < nibbles.size(); ++i)
    nibbles[i] = static_cast<uint8_t>(m.values[2 * i] | (m.values[2 * i + 1] << 4));
  return kernels::pack_int4(nibbles.data(), m.out_features, m.in_features, m.group_size, scales,
                            m.symmetric ? nullptr : m.zero_points.data(), m.out_features,
                            m.in_features / m.group_size, name);
}

}  // namespace stepwise
