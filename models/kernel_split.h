// How the kernel products of the model (models/packed_linear.h) and of the benchmarks are split over
// the torch intra-op threads (at::get_num_threads(), so --threads / STEPWISE_THREADS apply): by default on
// the kernels' own worker pool (core/kernels/worker_pool.h: claimed chunks, a bounded spin, never a wait
// for a late thread), or, with STEPWISE_KERNEL_THREADS=openmp, statically over LibTorch's OpenMP team by
// at::parallel_for (the earlier split, kept to compare the two). Both give bit-identical products: every
// output panel is computed by one thread with the same arithmetic whatever the split.
#pragma once

#include <cstdint>

#include "core/kernels/kernels.h"

namespace stepwise {

enum class KernelSplit { kPool, kOpenMp };

// "pool", "openmp".
const char* kernel_split_name(KernelSplit split);
// The split a STEPWISE_KERNEL_THREADS value names: nullptr, empty or "pool" -> kPool, "openmp" ->
// kOpenMp; anything else is a stepwise::Error naming the variable.
KernelSplit parse_kernel_split(const char* value);
// The split in use: the last set_kernel_split, else parse_kernel_split(getenv("STEPWISE_KERNEL_THREADS"))
// (read once; a bad value throws on every call).
KernelSplit kernel_split();
void set_kernel_split(KernelSplit split);

// y (M, N) = x (M, K) · weightᵀ over all of weight's panels on path `isa` (kernels::matmul; y row-major
// with y_stride floats per row), the panels split over the torch intra-op threads by kernel_split().
void split_matmul(const kernels::PackedWeight& weight, const kernels::Activations& x, float* y, int64_t y_stride,
                  kernels::Isa isa);

// Chunks of split_matmul products that ran on a thread other than the caller (a pool worker or an
// OpenMP worker) so far in this process: stays 0 when the products are not split (tests, diagnostics).
int64_t kernel_worker_chunks();

}  // namespace stepwise
