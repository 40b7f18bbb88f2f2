// Benchmarks of core/kernels (Google Benchmark, --benchmark_format=json; see bench/README.md):
//   read_bandwidth/*   a streaming float32 reduction over 1 GiB with vector loads and 8 accumulators on
//                      the torch threads: the read bandwidth the products are compared with
//   kernel/FORMAT/SHAPE/rows:M   y = x · Wᵀ on the Qwen2.5-0.5B layer shapes (K->N) for bfloat16, int8
//                      and int4 (group 32) weights, bfloat16 x, split over the torch threads as the
//                      model's linear layers are (models/kernel_split.h, STEPWISE_KERNEL_THREADS); GB/s of
//                      packed weight bytes and the fraction of the read bandwidth. Small shapes cycle
//                      through enough copies (>= 512 MiB) to defeat the caches.
//   kernel_in_cache/FORMAT/256x896/rows:M   the same product on one thread over one 256 x 896 matrix that
//                      stays in the L2 cache: the arithmetic cost alone, in seconds per 32 weights
// The path is the one STEPWISE_KERNELS selects (default: the best this CPU has).
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "core/kernels/kernels.h"
#include "core/timing.h"
#include "models/kernel_split.h"

namespace stepwise::bench {
namespace {

using kernels::PackedWeight;
using kernels::WeightFormat;

constexpr int64_t kProbeBytes = int64_t{1} << 30;
constexpr int64_t kWorkingSetBytes = int64_t{512} << 20;

// xorshift64: fast enough to fill hundreds of MiB of random weights.
struct Random {
  uint64_t state;
  uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

double g_read_bandwidth = 0.0;  // median of the probe in this process, bytes/s

double run_probe(const std::vector<float>& buffer) {
  const int64_t count = static_cast<int64_t>(buffer.size());
  const kernels::Isa isa = kernels::active_isa();
  std::vector<float> partial(static_cast<size_t>(at::get_num_threads()) * 16, 0.0f);
  Stopwatch watch;
  at::parallel_for(0, count, count / at::get_num_threads() + 1, [&](int64_t begin, int64_t end) {
    partial[static_cast<size_t>(at::get_thread_num()) * 16] += kernels::stream_sum(buffer.data() + begin, end - begin, isa);
  });
  const double seconds = watch.seconds();
  float total = 0.0f;
  for (float p : partial) total += p;
  benchmark::DoNotOptimize(total);
  return static_cast<double>(count) * 4.0 / seconds;
}

void read_bandwidth(benchmark::State& state) {
  std::vector<float> buffer(static_cast<size_t>(kProbeBytes / 4), 1.0f);
  std::vector<double> rates;
  for (auto _ : state) rates.push_back(run_probe(buffer));
  std::sort(rates.begin(), rates.end());
  g_read_bandwidth = rates[rates.size() / 2];
  state.counters["bytes_per_s"] = g_read_bandwidth;
  state.counters["best_bytes_per_s"] = rates.back();
  state.counters["threads"] = at::get_num_threads();
  state.SetLabel(kernels::isa_name(kernels::active_isa()));
}

PackedWeight make_weight(WeightFormat format, int64_t n, int64_t k, uint64_t seed) {
  Random random{seed * 0x9e3779b97f4a7c15ull + 1};
  constexpr int64_t kGroup = 32;
  std::vector<float> scales(static_cast<size_t>(n * (k / kGroup)), 0.01f);
  const kernels::ScaleMatrix scale_matrix{scales.data(), kernels::ElementType::kFloat32, n, k / kGroup};
  switch (format) {
    case WeightFormat::kBFloat16: {
      std::vector<uint16_t> values(static_cast<size_t>(n * k));
      for (auto& v : values) v = static_cast<uint16_t>(0x3c00 | (random.next() & 0x80ff));  // |w| in [2^-7, 2^-6)
      return kernels::pack_bfloat16(values.data(), n, k, "bench");
    }
    case WeightFormat::kInt8: {
      std::vector<int8_t> values(static_cast<size_t>(n * k));
      for (auto& v : values) v = static_cast<int8_t>(random.next());
      return kernels::pack_int8(values.data(), n, k, kGroup, scale_matrix, "bench");
    }
    case WeightFormat::kInt4: {
      std::vector<uint8_t> values(static_cast<size_t>(n * k / 2));
      for (auto& v : values) v = static_cast<uint8_t>(random.next());
      return kernels::pack_int4(values.data(), n, k, kGroup, scale_matrix, nullptr, 0, 0, "bench");
    }
  }
  return {};
}

// Copies of one packed weight totalling at least kWorkingSetBytes; the last set is kept for the next
// benchmark of the same format and shape (the row counts run one after the other).
const std::vector<PackedWeight>& weight_copies(WeightFormat format, int64_t n, int64_t k) {
  static std::vector<PackedWeight> copies;
  static std::string key;
  const std::string wanted = std::string(kernels::format_name(format)) + std::to_string(n) + "x" + std::to_string(k);
  if (key == wanted) return copies;
  copies.clear();
  copies.push_back(make_weight(format, n, k, 1));
  const int64_t count = std::max<int64_t>(1, kWorkingSetBytes / copies.front().bytes());
  for (int64_t i = 1; i < count; ++i) copies.push_back(make_weight(format, n, k, static_cast<uint64_t>(i + 1)));
  key = wanted;
  return copies;
}

void kernel_product(benchmark::State& state, WeightFormat format, int64_t k, int64_t n, int64_t rows) {
  const std::vector<PackedWeight>& copies = weight_copies(format, n, k);
  const int64_t bytes = copies.front().bytes();
  std::vector<uint16_t> x(static_cast<size_t>(rows * k), 0x3f80);  // bfloat16 1.0
  std::vector<float> y(static_cast<size_t>(rows * n));
  const kernels::Activations activations{x.data(), kernels::ElementType::kBFloat16, rows, k};
  const kernels::Isa isa = kernels::active_isa();
  size_t next = 0;
  std::vector<double> seconds;
  for (auto _ : state) {
    const PackedWeight& weight = copies[next];
    next = (next + 1) % copies.size();
    Stopwatch watch;
    split_matmul(weight, activations, y.data(), n, isa);
    seconds.push_back(watch.seconds());
    benchmark::DoNotOptimize(y.data());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  state.counters["bytes_per_s"] = static_cast<double>(bytes) / median;
  state.counters["best_bytes_per_s"] = static_cast<double>(bytes) / seconds.front();
  state.counters["us_per_product"] = median * 1e6;
  state.counters["weight_bytes"] = static_cast<double>(bytes);
  if (g_read_bandwidth > 0.0) state.counters["read_ratio"] = static_cast<double>(bytes) / median / g_read_bandwidth;
  state.counters["threads"] = at::get_num_threads();
  state.SetLabel(std::string(kernels::isa_name(isa)) + ", split " + kernel_split_name(kernel_split()));
}

// One thread, one small matrix read over and over (L2-resident): what the arithmetic of a tile costs
// without the memory stream.
void kernel_in_cache(benchmark::State& state, WeightFormat format, int64_t rows) {
  constexpr int64_t kN = 256, kK = 896;
  const PackedWeight weight = make_weight(format, kN, kK, 1);
  std::vector<uint16_t> x(static_cast<size_t>(rows * kK), 0x3f80);  // bfloat16 1.0
  std::vector<float> y(static_cast<size_t>(rows * kN));
  const kernels::Activations activations{x.data(), kernels::ElementType::kBFloat16, rows, kK};
  const kernels::Isa isa = kernels::active_isa();
  for (auto _ : state) {
    kernels::matmul(weight, activations, y.data(), kN, 0, weight.panels(), isa);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["seconds_per_32_weights"] =
      benchmark::Counter(static_cast<double>(kN * kK) / 32.0, benchmark::Counter::kIsIterationInvariantRate |
                                                                   benchmark::Counter::kInvert);
  state.SetLabel(kernels::isa_name(isa));
}

void register_benchmarks() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("read_bandwidth/stream_sum", read_bandwidth)->UseRealTime()->Iterations(8)->Unit(benchmark::kMillisecond);
  struct Shape {
    const char* label;
    int64_t k, n;
  };
  const Shape shapes[] = {{"qkv_896x1152", 896, 1152}, {"o_896x896", 896, 896}, {"gate_up_896x9728", 896, 9728},
                          {"down_4864x896", 4864, 896}, {"head_896x151936", 896, 151936}};
  for (WeightFormat format : {WeightFormat::kBFloat16, WeightFormat::kInt8, WeightFormat::kInt4}) {
    for (int64_t rows : {1, 8, 16}) {
      const std::string name = std::string("kernel_in_cache/") + kernels::format_name(format) + "/256x896/rows:" +
                               std::to_string(rows);
      RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { kernel_in_cache(state, format, rows); })
          ->MinTime(0.3)
          ->Unit(benchmark::kMicrosecond);
    }
    for (const Shape& shape : shapes) {
      for (int64_t rows : {1, 4, 8, 16}) {
        const std::string name = std::string("kernel/") + kernels::format_name(format) + "/" + shape.label +
                                 "/rows:" + std::to_string(rows);
        RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { kernel_product(state, format, shape.k, shape.n, rows); })
            ->UseRealTime()
            ->MinTime(0.5)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

}  // namespace
}  // namespace stepwise::bench

int main(int argc, char** argv) {
  const int threads = stepwise::bench::prepare_benchmark_process(argv);
  stepwise::bench::register_benchmarks();
  return stepwise::bench::run_registered_benchmarks(argc, argv, threads);
}
