// The linear layers' weights as core/kernels reads them, and the choice between the kernels and
// torch::linear for each product. On the CPU, with at most kernels::kMaxRows rows of x and no gradient
// needed, y = x · Wᵀ (+ bias) runs on the project's kernels (split over output features on the torch
// intra-op threads, models/kernel_split.h) for
//   - a bfloat16 weight, with bfloat16 x: read in place from the tensor's own row-major storage (no
//     copy), so its current values are always the ones used;
//   - a group-quantized weight (int8 / int4, models/group_quantized.h), with float32 or bfloat16 x:
//     from the packed matrix given to set_quantized. A weight tensor changed in place after that (its
//     version counter moved, or its storage was replaced) is no longer read from the packed matrix.
// Everything else (more rows, float32 weights, CUDA, autograd) stays on torch::linear over the dense
// weight tensor, which for a quantized weight holds its dequantized values. Weights that require grad
// never take the kernels: they may be updated through .data(), which the version does not see.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/kernels/kernels.h"

namespace stepwise {

class PackedLinears {
 public:
  // For a model with these linear weights: when one is a CPU bfloat16 matrix, the kernel path and the
  // thread split are chosen here (kernels::active_isa(), STEPWISE_KERNELS; kernel_split(),
  // STEPWISE_KERNEL_THREADS), so a bad value fails at load.
  static std::shared_ptr<PackedLinears> create(const std::vector<torch::Tensor>& weights);

  // Makes `packed` (int8 / int4, of weight's shape) the kernels' operand for `weight` (a CPU tensor),
  // replacing any packed copy of `replaced` (the tensor `weight` takes the place of; may be undefined).
  void set_quantized(const torch::Tensor& weight, kernels::PackedWeight packed, const torch::Tensor& replaced);

  // x (..., K) · weightᵀ (N, K) + bias (N) -> (..., N) in x's dtype, through the kernels when the rules
  // above allow it; nullopt when torch::linear must compute it.
  std::optional<torch::Tensor> linear(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias) const;

  // Bytes of the packed (quantized) matrices.
  int64_t packed_bytes() const;
  // Bytes of the packed matrix the kernels read for `weight`, if it has one.
  std::optional<int64_t> packed_bytes_of(const torch::Tensor& weight) const;
  // Packed matrices by format ("int8 g32", "int4 g128 zero points"): tensor count and bytes.
  struct FormatTotal {
    int64_t tensors = 0;
    int64_t bytes = 0;
  };
  std::map<std::string, FormatTotal> format_totals() const;

 private:
  struct Entry {
    std::shared_ptr<const kernels::PackedWeight> packed;  // shared by copies of a model
    const void* data = nullptr;  // the weight's storage when packed
    int64_t version = 0;         // and its version counter
  };
  kernels::Isa isa_ = kernels::Isa::kReference;
  bool isa_chosen_ = false;
  std::unordered_map<const void*, Entry> entries_;  // keyed by the weight's TensorImpl
};

// Process-wide switch (default on): off sends every product to torch::linear, e.g. to compare the two.
void set_linear_kernels_enabled(bool enabled);
bool linear_kernels_enabled();
// Products computed on the kernels so far in this process (for tests and diagnostics).
int64_t linear_kernel_products();

}  // namespace stepwise
