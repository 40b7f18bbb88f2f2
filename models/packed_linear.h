// The linear layers' weights repacked for core/kernels, and the choice between the kernels and
// torch::linear for each product. On the CPU, with at most kernels::kMaxRows rows of x and no gradient
// needed, y = x · Wᵀ (+ bias) runs on the project's kernels (split over output features on the torch
// intra-op threads) for
//   - a bfloat16 weight packed at load, with bfloat16 x;
//   - a group-quantized weight (int8 / int4, models/group_quantized.h), with float32 or bfloat16 x;
// everything else (more rows, float32 weights, CUDA, autograd) stays on torch::linear over the dense
// weight tensor, which for a quantized weight holds its dequantized values. A weight changed in place
// after packing (its version counter moved, or its storage was replaced) is no longer used from the packed
// copy. Weights that require grad are never packed-path operands: they may be updated through .data(),
// which the version does not see.
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
  // Packs each CPU bfloat16 2-D weight (N, K) of `weights` (others are skipped); the kernel path is the
  // one kernels::active_isa() names (STEPWISE_KERNELS), checked here so a bad value fails at load.
  static std::shared_ptr<PackedLinears> pack(const std::vector<torch::Tensor>& weights);

  // Makes `packed` (int8 / int4, of weight's shape) the kernels' operand for `weight` (a CPU tensor),
  // replacing any packed copy of `replaced` (the tensor `weight` takes the place of; may be undefined).
  void set_quantized(const torch::Tensor& weight, kernels::PackedWeight packed, const torch::Tensor& replaced);

  // x (..., K) · weightᵀ (N, K) + bias (N) -> (..., N) in x's dtype, through the kernels when the rules
  // above allow it; nullopt when torch::linear must compute it.
  std::optional<torch::Tensor> linear(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias) const;

  int64_t packed_bytes() const;
  // Packed weights by format ("bfloat16", "int8 g32", "int4 g128 zero points"): tensor count and bytes.
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
  std::unordered_map<const void*, Entry> entries_;  // keyed by the weight's TensorImpl
};

// Process-wide switch (default on): off sends every product to torch::linear, e.g. to compare the two.
void set_linear_kernels_enabled(bool enabled);
bool linear_kernels_enabled();
// Products computed on the kernels so far in this process (for tests and diagnostics).
int64_t linear_kernel_products();

}  // namespace stepwise
