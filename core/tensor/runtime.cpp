// Thread, device and dtype settings.
#include "core/tensor/runtime.h"

#include <torch/torch.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace stepwise {

void relaunch_with_quiet_thread_pools(char** argv) {
  keep_large_allocations_in_the_heap();
  if (std::getenv("OMP_WAIT_POLICY") != nullptr && std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  setenv("OPENBLAS_NUM_THREADS", "1", /*overwrite=*/0);
  execv("/proc/self/exe", argv);  // returns only on failure: then run with the pools as they are
}

void keep_large_allocations_in_the_heap() {
  // glibc serves blocks above its mmap threshold (at most 32 MiB by default) with fresh mappings and
  // unmaps them on free, so every such tensor pays its page faults again. Attention scores of long
  // canvases are larger than that; keep blocks up to 1 GiB in the heap and the heap from shrinking.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

int max_threads() { return 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int configure_threads(int64_t threads, const std::string& what) {
  const int cap = max_threads();
  check(threads >= 0 && threads <= cap, what, ": expected 0 (automatic) or 1 to ", cap,
        " threads (4 per core of this machine), got ", threads);
  if (threads == 0) {
    if (const char* env = std::getenv("STEPWISE_THREADS"); env != nullptr && *env != '\0') {
      errno = 0;
      char* end = nullptr;
      const long long value = std::strtoll(env, &end, 10);
      check(errno == 0 && *end == '\0' && value >= 1 && value <= cap, "STEPWISE_THREADS: expected an integer from 1 to ",
            cap, " (4 per core of this machine), got '", env, "'");
      threads = value;
    }
  }
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(static_cast<int>(threads));
  return static_cast<int>(threads);
}

torch::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    check(torch::cuda::is_available(), "device '", name, "' requested but this LibTorch build has no CUDA device");
    return torch::Device(name);
  }
  fail("unknown device '", name, "' (expected cpu, cuda, cuda:N or auto)");
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "float") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  // The CPU kernels LibTorch 1.13 has lack float16 for several ops the transformer uses.
  if (name == "float16" || name == "fp16" || name == "half") fail("unsupported dtype ", name, " (use float32 or bfloat16)");
  fail("unknown dtype '", name, "' (expected float32 or bfloat16)");
}

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return c10::toString(type);
  }
}

}  // namespace stepwise
