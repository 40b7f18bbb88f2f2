// The kernel products split over the intra-op threads: on the kernels' worker pool or, when
// STEPWISE_KERNEL_THREADS=openmp, by at::parallel_for (this file is compiled with OpenMP so that its
// parallel regions form a thread team; see the top CMakeLists).
#include "models/kernel_split.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/kernels/worker_pool.h"

namespace stepwise {
namespace {

// The smallest piece of a product worth a thread: about 64 KiB of weights.
constexpr int64_t kMinChunkBytes = int64_t{64} << 10;

constexpr int kSplitUnset = -1;
std::atomic<int> chosen_split{kSplitUnset};  // a KernelSplit once chosen
std::atomic<int64_t> worker_chunks{0};

int64_t min_chunk_panels(const kernels::PackedWeight& weight) {
  return std::max<int64_t>(1, kMinChunkBytes / std::max<int64_t>(1, weight.panel_bytes));
}

}  // namespace

const char* kernel_split_name(KernelSplit split) { return split == KernelSplit::kOpenMp ? "openmp" : "pool"; }

KernelSplit parse_kernel_split(const char* value) {
  if (value == nullptr || *value == '\0' || std::string(value) == "pool") return KernelSplit::kPool;
  if (std::string(value) == "openmp") return KernelSplit::kOpenMp;
  fail("STEPWISE_KERNEL_THREADS=", value, ": expected pool or openmp");
}

KernelSplit kernel_split() {
  int split = chosen_split.load();
  if (split == kSplitUnset) {
    split = static_cast<int>(parse_kernel_split(std::getenv("STEPWISE_KERNEL_THREADS")));
    int expected = kSplitUnset;
    if (!chosen_split.compare_exchange_strong(expected, split)) split = expected;
  }
  return static_cast<KernelSplit>(split);
}

void set_kernel_split(KernelSplit split) { chosen_split.store(static_cast<int>(split)); }

int64_t kernel_worker_chunks() { return worker_chunks.load(); }

void split_matmul(const kernels::PackedWeight& weight, const kernels::Activations& x, float* y, int64_t y_stride,
                  kernels::Isa isa) {
  const auto run_panels = [&](int64_t begin, int64_t end, int thread) {
    kernels::matmul(weight, x, y, y_stride, begin, end, isa);
    if (thread != 0) worker_chunks.fetch_add(1, std::memory_order_relaxed);
  };
  if (kernel_split() == KernelSplit::kOpenMp) {
    at::parallel_for(0, weight.panels(), min_chunk_panels(weight),
                     [&](int64_t begin, int64_t end) { run_panels(begin, end, at::get_thread_num()); });
  } else {
    kernels::split_work(weight.panels(), min_chunk_panels(weight), at::get_num_threads(), run_panels);
  }
}

}  // namespace stepwise
