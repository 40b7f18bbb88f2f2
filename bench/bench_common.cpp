// Benchmark model shapes, the model pool, byte counts and the copy-bandwidth probe.
#include "bench/bench_common.h"

#include <sys/resource.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor/runtime.h"
#include "core/timing.h"
#include "models/checkpoint.h"
#include "models/group_quantized.h"
#include "models/kernel_split.h"
#include "models/packed_linear.h"

namespace stepwise::bench {

TransformerConfig qwen25_05b_config() {
  TransformerConfig config;
  config.model_type = "qwen2";
  config.architecture = "Qwen2ForCausalLM";
  config.vocab_size = 151936;
  config.hidden_size = 896;
  config.intermediate_size = 4864;
  config.num_layers = 24;
  config.num_heads = 14;
  config.num_kv_heads = 2;
  config.head_dim = 64;
  config.max_position_embeddings = 32768;
  config.rope_theta = 1000000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = true;
  config.attention_bias = true;
  config.eos_token_ids = {151643};
  return config;
}

TransformerConfig small_config() {
  TransformerConfig config = qwen25_05b_config();
  config.vocab_size = 4096;
  config.hidden_size = 128;
  config.intermediate_size = 352;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 32;
  config.eos_token_ids = {};
  return config;
}

TransformerConfig with_layers(TransformerConfig config, int64_t layers) {
  config.num_layers = layers;
  return config;
}

std::shared_ptr<const Transformer> ModelPool::get(const TransformerConfig& config, torch::ScalarType dtype,
                                                  uint64_t seed) {
  const std::string key = std::to_string(config.vocab_size) + "/" + std::to_string(config.hidden_size) + "/" +
                          std::to_string(config.num_layers) + "/" + dtype_name(dtype) + "/" + std::to_string(seed);
  auto it = models_.find(key);
  if (it != models_.end()) return it->second;
  torch::NoGradGuard no_grad;
  auto model = random_transformer(config, seed, LoadOptions{dtype, torch::kCPU});
  models_[key] = model;
  return model;
}

std::shared_ptr<const Transformer> ModelPool::get_quantized(const TransformerConfig& config, int bits,
                                                            uint64_t seed) {
  const std::string key = std::to_string(config.vocab_size) + "/" + std::to_string(config.hidden_size) + "/" +
                          std::to_string(config.num_layers) + "/int" + std::to_string(bits) + "/" + std::to_string(seed);
  auto it = models_.find(key);
  if (it != models_.end()) return it->second;
  torch::NoGradGuard no_grad;
  auto model = random_transformer(config, seed, LoadOptions{torch::kBFloat16, torch::kCPU});
  std::mt19937 rng(static_cast<uint32_t>(seed));
  for (const auto& [name, tensor] : model->named_parameters()) {
    if (tensor.dim() != 2) continue;
    GroupQuantizedMatrix matrix;
    matrix.bits = bits;
    matrix.out_features = tensor.size(0);
    matrix.in_features = tensor.size(1);
    matrix.group_size = 32;
    matrix.values.resize(static_cast<size_t>(tensor.numel()));
    for (auto& value : matrix.values)
      value = static_cast<int8_t>(bits == 8 ? static_cast<int>(rng() % 256) - 128 : static_cast<int>(rng() % 16));
    matrix.scales.assign(static_cast<size_t>(tensor.numel() / 32), bits == 8 ? 0.02f / 64 : 0.02f / 4);
    model->set_group_quantized(name, matrix);
  }
  models_[key] = model;
  return model;
}

double ModelPool::copy_bandwidth() {
  if (!copy_bandwidth_) copy_bandwidth_ = measure_copy_bandwidth(int64_t{512} << 20, 1.0);
  return *copy_bandwidth_;
}

int64_t weight_bytes_per_step(const Transformer& model) {
  int64_t bytes = 0;
  auto read = [&model](const torch::Tensor& tensor) {
    return model.packed_linears().packed_bytes_of(tensor).value_or(tensor.numel() *
                                                                    static_cast<int64_t>(tensor.element_size()));
  };
  torch::Tensor embedding;
  for (const auto& [name, tensor] : model.named_parameters()) {
    if (name == "model.embed_tokens.weight") embedding = tensor;
    else bytes += read(tensor);
  }
  if (model.config().tie_word_embeddings) bytes += read(embedding);
  return bytes;
}

int64_t kv_bytes_per_step(const Transformer& model, int64_t batch, int64_t context) {
  const TransformerConfig& config = model.config();
  return 2 * config.num_layers * batch * config.num_kv_heads * context * config.head_dim *
         static_cast<int64_t>(c10::elementSize(model.dtype()));
}

double measure_copy_bandwidth(int64_t bytes, double min_seconds) {
  torch::NoGradGuard no_grad;
  torch::Tensor source = torch::rand({bytes / 4});  // float32
  torch::Tensor target = torch::empty_like(source);
  target.copy_(source);  // fault the pages in before timing
  // The median single copy: robust both to other processes slowing a copy down and to lucky outliers.
  std::vector<double> rates;
  Stopwatch total;
  while (total.seconds() < min_seconds || rates.size() < 5) {
    Stopwatch watch;
    target.copy_(source);
    rates.push_back(2.0 * static_cast<double>(bytes) / watch.seconds());
  }
  std::nth_element(rates.begin(), rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2), rates.end());
  return rates[rates.size() / 2];
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

CpuTicks read_cpu_ticks() {
  std::ifstream stat("/proc/stat");
  std::string label;
  if (!(stat >> label) || label != "cpu") return {};
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  CpuTicks ticks;
  for (int field = 0; field < 8; ++field) {
    double value = 0.0;
    if (!(stat >> value)) return {};
    ticks.total += value;
    if (field == 7) ticks.steal = value;
  }
  return ticks;
}

double steal_fraction_since(const CpuTicks& start) {
  const CpuTicks now = read_cpu_ticks();
  const double total = now.total - start.total;
  return total > 0.0 ? (now.steal - start.steal) / total : 0.0;
}

int configure_bench_threads() {
  const char* env = std::getenv("STEPWISE_THREADS");
  return configure_threads(env != nullptr ? std::atoi(env) : 2);
}

int prepare_benchmark_process(char** argv) {
  relaunch_with_quiet_thread_pools(argv);
  return configure_bench_threads();
}

int run_registered_benchmarks(int argc, char** argv, int threads) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto env = [](const char* name) { return std::string(std::getenv(name) ? std::getenv(name) : ""); };
  benchmark::AddCustomContext("torch_threads", std::to_string(threads));
  benchmark::AddCustomContext("OMP_WAIT_POLICY", env("OMP_WAIT_POLICY"));
  benchmark::AddCustomContext("OPENBLAS_NUM_THREADS", env("OPENBLAS_NUM_THREADS"));
  try {
    benchmark::AddCustomContext("kernel_threads", kernel_split_name(kernel_split()));
  } catch (const Error& error) {
    std::cerr << error.what() << "\n";
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

double forward_flops(const TransformerConfig& c, int64_t tokens, int64_t keys, int64_t logit_rows) {
  const double h = static_cast<double>(c.hidden_size), d = static_cast<double>(c.head_dim);
  const double q = c.num_heads * d, kv = c.num_kv_heads * d;
  const double per_token_layer = 2.0 * (h * q + 2.0 * h * kv + q * h + 3.0 * h * c.intermediate_size);
  const double attention_layer = 2.0 * 2.0 * static_cast<double>(tokens) * static_cast<double>(keys) * q;
  return c.num_layers * (per_token_layer * tokens + attention_layer) + 2.0 * h * c.vocab_size * logit_rows;
}

Timing gemm_seconds_per_tflop(torch::ScalarType dtype) {
  static std::map<torch::ScalarType, Timing> measured;
  if (!measured.count(dtype)) {
    const int64_t n = 2048;
    const int repeats = dtype == torch::kBFloat16 ? 20 : 5;
    torch::Tensor a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
    torch::Tensor sink = torch::matmul(a, b);  // oneDNN primitive creation
    const Timing t = timed([&] {
      for (int i = 0; i < repeats; ++i) sink = torch::matmul(a, b);
    });
    const double tflop = 2.0 * n * n * n * repeats / 1e12;
    measured[dtype] = {t.wall_s / tflop, t.cpu_s / tflop};
  }
  return measured[dtype];
}

}  // namespace stepwise::bench
