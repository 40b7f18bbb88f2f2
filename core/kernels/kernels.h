// Skinny matrix products for decoding on the CPU, torch-free: y (M, N) = x (M, K) · W (N, K)ᵀ for
// M = 1..16 rows of x, float32 accumulation, x in float32 or bfloat16, W stored as bfloat16, as int8 with
// per-group scales (symmetric) or as int4 with per-group scales and optional zero points. bfloat16
// weights are read in place, row-major, from the caller's storage (view_bfloat16) or a copy
// (pack_bfloat16); quantized ones are repacked once (pack_int8 / pack_int4) into panels of kPanelWidth
// output features. matmul() then streams them.
// Three code paths compute the same product: a plain C++ reference, AVX2/FMA and AVX-512 (AVX512-BF16
// vdpbf16ps whenever x is bfloat16), each compiled in its own translation unit with its own
// instruction-set flags, so the library never executes an instruction the CPU lacks.
// Which path runs: the best one the CPU (and the OS, for the AVX-512 register state) supports, or the one
// named by STEPWISE_KERNELS=reference|avx2|avx512 (an unknown or unsupported name is a stepwise::Error).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace stepwise::kernels {

// Output features per packed panel (one 512-bit vector of float32 accumulators).
constexpr int64_t kPanelWidth = 16;
// The row counts the kernels are built for (any count works; beyond this a GEMM library is faster).
constexpr int64_t kMaxRows = 16;

enum class Isa { kReference, kAvx2, kAvx512 };
enum class WeightFormat { kBFloat16, kInt8, kInt4 };
enum class ElementType { kFloat32, kFloat16, kBFloat16 };

// "reference", "avx2", "avx512".
const char* isa_name(Isa isa);
const char* format_name(WeightFormat format);
// Whether this CPU and OS can execute the path (reference: always; avx2: AVX2 + FMA + F16C with AVX state
// enabled; avx512: AVX512F/BW/VL/BF16 with the opmask and ZMM state enabled).
bool isa_supported(Isa isa);
// Every path this machine can execute, slowest first.
std::vector<Isa> supported_isas();
// The path STEPWISE_KERNELS names (nullptr or empty: the best supported one). Throws stepwise::Error
// for an unknown name or one this CPU cannot execute.
Isa choose_isa(const char* requested);
// choose_isa(getenv("STEPWISE_KERNELS")), evaluated once per process.
Isa active_isa();

// 64-byte aligned storage for packed weights.
struct AlignedFree {
  void operator()(void* pointer) const { std::free(pointer); }
};
using AlignedBytes = std::unique_ptr<uint8_t[], AlignedFree>;

// A weight matrix (N, K) in the layout the kernels read. Work is split by panels of kPanelWidth output
// features (the last one partial).
//   bfloat16: row-major (N, K) uint16 bit patterns, row n at n * K, as a torch tensor holds it: in
//             `data` (pack_bfloat16) or borrowed (view_bfloat16: `borrowed` points into the caller's
//             storage, which must outlive every product);
// Quantized formats: panels zero-padded to kPanelWidth features; within a panel, for every k the
// kPanelWidth values of its features:
//   int8:     [panel][K][16] int8 values, 16 bytes per k;
//   int4:     [panel][K / 2][16] bytes, low nibble = k even, high nibble = k odd, unsigned 0..15.
// Quantized formats also hold scales [panel][K / group][16] float32 and, for int4 with zero points, the
// zero points as float32 offsets 2^23 + z [panel][K / group][16] (none stored without: z = 8, symmetric).
// Dequantized weight: int8 q * scale; int4 (q - z) * scale, both one float32 rounding.
struct PackedWeight {
  WeightFormat format = WeightFormat::kBFloat16;
  int64_t out_features = 0;  // N
  int64_t in_features = 0;   // K
  int64_t group_size = 0;    // K elements per scale (quantized formats), else 0
  int64_t panel_bytes = 0;   // bytes of one panel in `data` (bfloat16: of kPanelWidth rows)
  AlignedBytes data;
  const uint8_t* borrowed = nullptr;  // bfloat16 only: the caller's row-major weights instead of `data`
  std::vector<float> scales;        // [panels][groups][16]
  std::vector<float> zero_offsets;  // int4 with zero points only: [panels][groups][16], else empty

  int64_t panels() const { return (out_features + kPanelWidth - 1) / kPanelWidth; }
  int64_t groups() const { return group_size > 0 ? in_features / group_size : 0; }
  // The first byte of the weights: `borrowed` if set, else `data`.
  const uint8_t* weight_data() const { return borrowed != nullptr ? borrowed : data.get(); }
  // Bytes a full product streams: weights plus scales and zero points.
  int64_t bytes() const;
  // The dequantized float32 value of W[n][k] read back from the packed layout.
  float weight_at(int64_t n, int64_t k) const;
};

// A row-major matrix of scales, float32 or float16 (IEEE binary16), given to the int8 / int4 packers.
struct ScaleMatrix {
  const void* data = nullptr;
  ElementType type = ElementType::kFloat32;
  int64_t rows = 0, cols = 0;  // must be (N, K / group_size)
};

// Each packer checks its shapes and throws stepwise::Error naming `name` (the tensor) when they do not fit.
// weight: (N, K) row-major bfloat16 bit patterns. pack_bfloat16 copies them; view_bfloat16 reads them in
// place (no copy: `weight` must stay valid, and its current values are what every product reads).
PackedWeight pack_bfloat16(const uint16_t* weight, int64_t out_features, int64_t in_features, const std::string& name);
PackedWeight view_bfloat16(const uint16_t* weight, int64_t out_features, int64_t in_features, const std::string& name);
// values: (N, K) int8; scales (N, K / group_size); group_size one of 32, 64, 128 dividing K.
PackedWeight pack_int8(const int8_t* values, int64_t out_features, int64_t in_features, int64_t group_size,
                       const ScaleMatrix& scales, const std::string& name);
// values: (N, K / 2) bytes, low nibble = even k, high nibble = odd k, unsigned 0..15; scales (N, K / group_size);
// zero_points: nullptr (symmetric: z = 8) or (N, K / group_size) bytes 0..15 with zero_rows, zero_cols its shape.
PackedWeight pack_int4(const uint8_t* values, int64_t out_features, int64_t in_features, int64_t group_size,
                       const ScaleMatrix& scales, const uint8_t* zero_points, int64_t zero_rows, int64_t zero_cols,
                       const std::string& name);

// Rows of x: `rows` (>= 1, made for up to kMaxRows) rows of K elements, `stride` elements apart.
struct Activations {
  const void* data = nullptr;
  ElementType type = ElementType::kFloat32;  // float32 or bfloat16
  int64_t rows = 0;
  int64_t stride = 0;
};

// y[m][n] = sum_k x[m][k] * W[n][k] in float32 for the output features of panels [panel_begin, panel_end)
// (columns panel_begin * 16 .. min(panel_end * 16, N)); y is row-major with `y_stride` floats per row and
// only those columns are written, so disjoint panel ranges may run on different threads.
// Within one path every output is the same sequence of operations whatever M and the panel range are.
void matmul(const PackedWeight& weight, const Activations& x, float* y, int64_t y_stride, int64_t panel_begin,
            int64_t panel_end, Isa isa);

// The sum of `count` floats read once front to back with vector loads into several accumulators: the
// access pattern of the products above without their arithmetic, the read-bandwidth yardstick of the
// benchmarks. Summation order differs between paths.
float stream_sum(const float* values, int64_t count, Isa isa);

// Element conversions used at the boundaries (exact for bfloat16 -> float32 and float16 -> float32).
float bfloat16_to_float(uint16_t bits);
uint16_t float_to_bfloat16(float value);  // round to nearest even
float float16_to_float(uint16_t bits);

}  // namespace stepwise::kernels
