// The linear layers' weights repacked for core/kernels, and the choice between the kernels and
// torch::linear for each product: on the CPU, for a bfloat16 weight packed at load, with at most
// kernels::kMaxRows rows of x and no gradient needed, y = x · Wᵀ (+ bias) runs on the project's kernels
// (split over output features on the torch intra-op threads); everything else (more rows, float32,
// CUDA, autograd) stays on torch::linear. A weight changed in place after packing (its version counter
// moved, or its storage was replaced) is no longer used from the packed copy. Weights that require grad
// are never packed-path operands: they may be updated through .data(), which the version does not see.
#pragma once

#include <torch/types.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/kernels/kernels.h"

namespace stepwise {

class PackedLinears {
 public:
  // Packs each CPU bfloat16 2-D weight (N, K) of `weights` (others are skipped); the kernel path is the
  // one kernels::active_isa() names (STEPWISE_KERNELS), checked here so a bad value fails at load.
  static std::shared_ptr<const PackedLinears> pack(const std::vector<torch::Tensor>& weights);

  // x (..., K) · weightᵀ (N, K) + bias (N) -> (..., N) in x's dtype, through the kernels when the rules
  // above allow it; nullopt when torch::linear must compute it.
  std::optional<torch::Tensor> linear(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias) const;

  int64_t packed_bytes() const;

 private:
  struct Entry {
    kernels::PackedWeight packed;
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
