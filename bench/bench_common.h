// Shared setup of the decoding benchmarks: model shapes (the Qwen2.5-0.5B shape and a small shape for
// runs that would take minutes otherwise) with random weights, a pool that builds each model once per
// process, the bytes a decode step reads, and a measured memory copy bandwidth to compare against.
// Random weights are enough for timing; acceptance-dependent figures are reported as measured.
#pragma once

#include "core/tensor/runtime.h"  // relaunch_with_quiet_thread_pools, configure_threads

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "models/transformer.h"

namespace stepwise::bench {

// Qwen2.5-0.5B: hidden 896, 24 layers, 14 heads (2 KV heads, head_dim 64), intermediate 4864,
// vocabulary 151936, tied embeddings, q/k/v biases, RoPE theta 1e6.
TransformerConfig qwen25_05b_config();
// A small model (hidden 128, 2 layers, vocabulary 4096) for the recompute ablation.
TransformerConfig small_config();
// `config` with only its first `layers` layers.
TransformerConfig with_layers(TransformerConfig config, int64_t layers);

// Builds models on first use and keeps them for the life of the benchmark process. A model built from
// the same seed with fewer layers shares the larger model's embedding and first layers exactly
// (random_transformer draws tensors in checkpoint order), which gives a truncated-layer draft.
class ModelPool {
 public:
  std::shared_ptr<const Transformer> get(const TransformerConfig& config, torch::ScalarType dtype, uint64_t seed);
  // The bfloat16 model of `config` with every 2-D weight (the projections and the embedding, which a
  // tied head shares) replaced by a random group-quantized matrix: int8 (`bits` 8) or symmetric int4
  // (4), groups of 32, float32 scales (W8A16 / W4A16, Transformer::set_group_quantized). The cost of a
  // step does not depend on the values. Built once.
  std::shared_ptr<const Transformer> get_quantized(const TransformerConfig& config, int bits, uint64_t seed);
  // Copy bandwidth (bytes/s, read + write counted, as STREAM does; median of single copies of a
  // 512 MiB buffer), measured once on first use.
  double copy_bandwidth();

 private:
  std::map<std::string, std::shared_ptr<const Transformer>> models_;
  std::optional<double> copy_bandwidth_;
};

// Bytes of weights one decode step reads: every parameter except the embedding table (only B rows of
// it are gathered), plus the LM head (the embedding again when tied); a quantized weight counts its
// packed bytes.
int64_t weight_bytes_per_step(const Transformer& model);
// Bytes of keys and values one decode step reads at `context` cached tokens.
int64_t kv_bytes_per_step(const Transformer& model, int64_t batch, int64_t context);

// Copies a `bytes` buffer repeatedly for at least `min_seconds`; returns the median copy's
// (read + write) bytes per second.
double measure_copy_bandwidth(int64_t bytes, double min_seconds);

// CPU seconds used by the whole process so far (every thread). Unlike wall time, it barely changes
// when other processes compete for the cores, so ratios of it are stable on a shared machine.
double process_cpu_seconds();

// The machine's CPU time so far from /proc/stat's "cpu" line: every state, and the part stolen by a
// hypervisor (time a virtual CPU wanted to run while the host ran something else). Zeros where the file
// is missing or unreadable.
struct CpuTicks {
  double total = 0.0;
  double steal = 0.0;
};
CpuTicks read_cpu_ticks();
// The fraction of the machine's CPU time since `start` that the hypervisor stole (0 on bare metal or when
// unknown). A benchmark records it beside its timings so that disturbed runs can be told apart.
double steal_fraction_since(const CpuTicks& start);

// torch intra-op threads for the benchmarks: $STEPWISE_THREADS, else 2. Returns the count.
int configure_bench_threads();

// First thing in a benchmark's main(): quiet thread pools (re-executes the process once) and explicit
// torch threads ($STEPWISE_THREADS, else 2). Returns the thread count.
int prepare_benchmark_process(char** argv);
// The rest of main() once benchmarks are registered: parses the Google Benchmark flags (exit 1 on an
// unknown one), records the thread settings in the JSON context (exit 2 on a bad STEPWISE_KERNEL_THREADS)
// and runs the selected benchmarks.
int run_registered_benchmarks(int argc, char** argv, int threads);

// Wall and process CPU seconds (all threads) of one piece of work.
struct Timing {
  double wall_s = 0.0;
  double cpu_s = 0.0;
};
template <typename Work>
Timing timed(Work&& work) {
  const double cpu_start = process_cpu_seconds();
  const auto wall_start = std::chrono::steady_clock::now();
  work();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count(),
          process_cpu_seconds() - cpu_start};
}

// 2 x multiply-adds of one forward of `config`: `tokens` fed, attending over `keys`, logits at `logit_rows`.
double forward_flops(const TransformerConfig& config, int64_t tokens, int64_t keys, int64_t logit_rows);

// Seconds per TFLOP of a 2048^3 matmul in `dtype` (the GEMM peak the full forwards are compared with),
// wall and CPU, measured once per process.
Timing gemm_seconds_per_tflop(torch::ScalarType dtype);

}  // namespace stepwise::bench
