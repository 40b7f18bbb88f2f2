// Bit packing of the GPTQ layout, word by word.
#include "models/quantization/gptq_layout.h"

#include <c10/util/Exception.h>

#include <cmath>

#include "core/error.h"
#include "core/gguf_dequant.h"

namespace stepwise {
namespace {

uint32_t code_of(const GroupQuantizedMatrix& m, size_t index) {
  const int value = m.values[index];
  return static_cast<uint32_t>(m.bits == 8 ? value + 128 : value);
}

uint32_t zero_point_of(const GroupQuantizedMatrix& m, size_t group_index) {
  if (m.bits == 8) return 128;
  return m.symmetric ? 8 : m.zero_points[group_index];
}

}  // namespace

GptqTensors pack_gptq(const GroupQuantizedMatrix& m, GptqZeroFormat format) {
  const int per_word = 32 / m.bits;
  const uint32_t mask = (1u << m.bits) - 1;
  const int64_t K = m.in_features, N = m.out_features, G = K / m.group_size;
  TORCH_INTERNAL_ASSERT(K % per_word == 0 && N % per_word == 0 && K % m.group_size == 0);
  GptqTensors out;
  out.bits = m.bits;
  out.in_features = K;
  out.out_features = N;
  out.groups = G;
  out.qweight.assign(static_cast<size_t>(K / per_word * N), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const uint32_t code = code_of(m, static_cast<size_t>(n * K + k));
      TORCH_INTERNAL_ASSERT(code <= mask);
      auto& word = out.qweight[static_cast<size_t>(k / per_word * N + n)];
      word = static_cast<int32_t>(static_cast<uint32_t>(word) | code << (m.bits * (k % per_word)));
    }
  out.qzeros.assign(static_cast<size_t>(G * (N / per_word)), 0);
  out.scales.assign(static_cast<size_t>(G * N), 0);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t n = 0; n < N; ++n) {
      const size_t group_index = static_cast<size_t>(n * G + g);
      uint32_t stored = zero_point_of(m, group_index);
      if (format == GptqZeroFormat::kV1) {
        TORCH_INTERNAL_ASSERT(stored >= 1, "GPTQ v1 cannot store zero point 0");
        stored -= 1;
      }
      TORCH_INTERNAL_ASSERT(stored <= mask);
      auto& word = out.qzeros[static_cast<size_t>(g * (N / per_word) + n / per_word)];
      word = static_cast<int32_t>(static_cast<uint32_t>(word) | stored << (m.bits * (n % per_word)));
      out.scales[static_cast<size_t>(g * N + n)] = float_to_half(m.scales[group_index]);
    }
  out.g_idx.resize(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) out.g_idx[static_cast<size_t>(k)] = static_cast<int32_t>(k / m.group_size);
  return out;
}

GroupQuantizedMatrix unpack_gptq(const GptqTensors& t, int64_t group_size, GptqZeroFormat format,
                                 const std::string& where) {
  const int per_word = 32 / t.bits;
  const uint32_t mask = (1u << t.bits) - 1;
  const int64_t K = t.in_features, N = t.out_features, G = t.groups;
  TORCH_INTERNAL_ASSERT(G * group_size == K && t.qweight.size() == static_cast<size_t>(K / per_word * N) &&
                        t.qzeros.size() == static_cast<size_t>(G * (N / per_word)) &&
                        t.scales.size() == static_cast<size_t>(G * N) && t.g_idx.size() == static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k)
    check(t.g_idx[static_cast<size_t>(k)] == k / group_size, where, ".g_idx: column ", k, " is in group ",
          t.g_idx[static_cast<size_t>(k)], ", expected ", k / group_size,
          " (act-order / desc_act checkpoints are not supported)");
  GroupQuantizedMatrix m;
  m.bits = t.bits;
  m.in_features = K;
  m.out_features = N;
  m.group_size = group_size;
  m.values.resize(static_cast<size_t>(N * K));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const auto word = static_cast<uint32_t>(t.qweight[static_cast<size_t>(k / per_word * N + n)]);
      const int code = static_cast<int>(word >> (t.bits * (k % per_word)) & mask);
      m.values[static_cast<size_t>(n * K + k)] = static_cast<int8_t>(t.bits == 8 ? code - 128 : code);
    }
  const int zero_offset = format == GptqZeroFormat::kV1 ? 1 : 0;
  std::vector<uint8_t> zeros(static_cast<size_t>(N * G));
  m.scales.resize(static_cast<size_t>(N * G));
  bool all_symmetric = true;
  const int symmetric_zero = 1 << (t.bits - 1);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t n = 0; n < N; ++n) {
      const auto word = static_cast<uint32_t>(t.qzeros[static_cast<size_t>(g * (N / per_word) + n / per_word)]);
      const int zero = static_cast<int>(word >> (t.bits * (n % per_word)) & mask) + zero_offset;
      const float scale = half_to_float(t.scales[static_cast<size_t>(g * N + n)]);
      check(std::isfinite(scale), where, ".scales: group ", g, " of output ", n, " is not finite");
      check(t.bits == 4 || zero == symmetric_zero, where, ".qzeros: 8-bit zero point ", zero, " (group ", g,
            ", output ", n, "); only symmetric 8-bit weights (zero point 128) are supported");
      all_symmetric = all_symmetric && zero == symmetric_zero;
      zeros[static_cast<size_t>(n * G + g)] = static_cast<uint8_t>(zero);
      m.scales[static_cast<size_t>(n * G + g)] = scale;
    }
  m.symmetric = all_symmetric;
  if (!all_symmetric) m.zero_points = std::move(zeros);
  return m;
}

}  // namespace stepwise
