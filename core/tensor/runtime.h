// Process-wide compute settings chosen once at start-up: the torch intra-op thread count (set
// explicitly, never left to the library default) and the device and dtype names users type.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace stepwise {

// LibTorch's OpenMP workers spin between parallel regions and OpenBLAS keeps its own spinning pool; on a
// small machine the two fight for the cores and small ops run up to 10x slower. Both libraries read
// their settings when they load, so this re-executes the process with OMP_WAIT_POLICY=PASSIVE and
// OPENBLAS_NUM_THREADS=1 unless both are already set (a user's own values are kept). Call first in main().
// Also calls keep_large_allocations_in_the_heap().
void relaunch_with_quiet_thread_pools(char** argv);

// Makes freed large blocks (up to 1 GiB) reusable without new page faults (glibc malloc options).
void keep_large_allocations_in_the_heap();

// The most intra-op threads accepted: 4 per core (hardware_concurrency), so a typo cannot spawn thousands.
int max_threads();

// Sets torch's intra-op threads: `threads` > 0, else $STEPWISE_THREADS, else all cores. Returns the count.
// `threads` must be in [0, max_threads()] (an error naming `what`, the flag or key it came from, otherwise);
// $STEPWISE_THREADS, when set and non-empty, must be an integer in [1, max_threads()].
int configure_threads(int64_t threads = 0, const std::string& what = "--threads");

// "cpu", "cuda", "cuda:1", or "auto" (CUDA when LibTorch has it, else CPU).
torch::Device parse_device(const std::string& name);

// "float32" | "bfloat16" (also "fp32", "float", "bf16"); float16 is refused (unsupported on CPU).
torch::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(torch::ScalarType type);

}  // namespace stepwise
