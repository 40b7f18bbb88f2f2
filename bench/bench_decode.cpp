// Decoding benchmarks (Google Benchmark, run with --benchmark_format=json; see bench/README.md):
//   copy_bandwidth/*   large-buffer copies: the machine's memory bandwidth, the yardstick for decode
//   decode_step/*      one AR decode step at a fixed cached context (Qwen2.5-0.5B shape): tokens/s and
//                      the bandwidth achieved reading weights + KV, also as a ratio to the copy bandwidth;
//                      bfloat16 on the project's kernels, and with /linear:torch on LibTorch's linear;
//                      int8 / int4: the same model with group-quantized weights (W8A16 / W4A16); with
//                      /split:openmp the kernels' products split by at::parallel_for instead of the
//                      kernels' worker pool (models/kernel_split.h)
//   kv_cache/*         whole AR generations with the KV cache vs recomputing the prefix (small model)
//   speculative/*      whole generations, AR vs speculative with several draft sources (0.5B shape)
// Benchmarks are registered in main() and share one ModelPool, so each model is built once.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "core/tensor/kv_cache.h"
#include "core/tensor/runtime.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/ar_decoder.h"
#include "decoders/speculative_decoder.h"
#include "models/kernel_split.h"
#include "models/packed_linear.h"

namespace stepwise::bench {
namespace {

constexpr int64_t kCopyBytes = int64_t{512} << 20;
constexpr uint64_t kTargetSeed = 0;

void copy_torch(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  torch::Tensor source = torch::rand({kCopyBytes / 4});  // float32
  torch::Tensor target = torch::empty_like(source);
  target.copy_(source);
  double fastest = 1e30;
  for (auto _ : state) {
    Stopwatch watch;
    target.copy_(source);
    benchmark::ClobberMemory();
    fastest = std::min(fastest, watch.seconds());
  }
  state.counters["bytes_per_s"] = benchmark::Counter(2.0 * kCopyBytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["best_bytes_per_s"] = 2.0 * kCopyBytes / fastest;
  state.counters["threads"] = torch::get_num_threads();
}

void copy_memcpy(benchmark::State& state) {
  std::vector<char> source(static_cast<size_t>(kCopyBytes), 1), target(static_cast<size_t>(kCopyBytes), 0);
  double fastest = 1e30;
  for (auto _ : state) {
    Stopwatch watch;
    std::memcpy(target.data(), source.data(), source.size());
    benchmark::ClobberMemory();
    fastest = std::min(fastest, watch.seconds());
  }
  state.counters["bytes_per_s"] = benchmark::Counter(2.0 * kCopyBytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["best_bytes_per_s"] = 2.0 * kCopyBytes / fastest;
  state.counters["threads"] = 1;
}

// One decode step of `batch` rows at `context` cached tokens. The cache is filled with random keys and
// values (the cost of a step does not depend on their contents) and truncated back after every step.
// `torch_linear`: every linear product on LibTorch (the project's kernels switched off, models/packed_linear.h).
// `quantized_bits` 8 / 4: the bfloat16 model with int8 / int4 weights (ModelPool::get_quantized); 0: none.
// `openmp_split`: the kernels' products split over LibTorch's OpenMP team, else by the process's
// kernel_split() (STEPWISE_KERNEL_THREADS, default the worker pool).
void decode_step(benchmark::State& state, ModelPool& pool, torch::ScalarType dtype, int64_t batch, int64_t context,
                 bool torch_linear, int quantized_bits = 0, bool openmp_split = false) {
  torch::NoGradGuard no_grad;
  set_linear_kernels_enabled(!torch_linear);
  const KernelSplit process_split = kernel_split();
  if (openmp_split) set_kernel_split(KernelSplit::kOpenMp);
  auto model = quantized_bits > 0 ? pool.get_quantized(qwen25_05b_config(), quantized_bits, kTargetSeed)
                                  : pool.get(qwen25_05b_config(), dtype, kTargetSeed);
  const TransformerConfig& config = model->config();
  const double copy_bandwidth = pool.copy_bandwidth();
  KvCache cache = model->make_cache(batch, context + 1);
  {
    at::Generator generator = make_generator(1);
    auto options = torch::TensorOptions().dtype(torch::kFloat32);
    const std::vector<int64_t> shape = {config.num_layers, batch, config.num_kv_heads, context, config.head_dim};
    cache.load_prefix(at::normal(0.0, 1.0, shape, generator, options).to(dtype),
                      at::normal(0.0, 1.0, shape, generator, options).to(dtype));
  }
  at::Generator generator = make_generator(2);
  torch::Tensor tokens = at::randint(config.vocab_size, {batch, 1}, generator, torch::kInt64);  // (B, 1)
  torch::Tensor positions = torch::full({batch, 1}, context, torch::kInt64);                    // (B, 1)
  ForwardOptions options;
  options.cache = &cache;
  options.last_position_only = true;
  double seconds = 0.0, fastest = 1e30;
  const CpuTicks ticks_at_start = read_cpu_ticks();
  for (auto _ : state) {
    Stopwatch watch;
    torch::Tensor next = model->forward(tokens, positions, options).argmax(-1);  // (B, 1)
    benchmark::DoNotOptimize(next.data_ptr<int64_t>());
    const double step = watch.seconds();
    seconds += step;
    fastest = std::min(fastest, step);
    cache.keep(context);
  }
  // Mean figures, and "best_" figures from the fastest step (robust to other processes on the cores).
  const double bytes =
      static_cast<double>(weight_bytes_per_step(*model) + kv_bytes_per_step(*model, batch, context + 1));
  const double steps = static_cast<double>(state.iterations());
  state.counters["tokens_per_s"] = static_cast<double>(batch) * steps / seconds;
  state.counters["ms_per_step"] = 1e3 * seconds / steps;
  state.counters["bytes_per_step"] = bytes;
  state.counters["bytes_per_s"] = bytes * steps / seconds;
  state.counters["copy_bytes_per_s"] = copy_bandwidth;
  state.counters["copy_ratio"] = bytes * steps / seconds / copy_bandwidth;
  state.counters["best_tokens_per_s"] = static_cast<double>(batch) / fastest;
  state.counters["best_ms_per_step"] = 1e3 * fastest;
  state.counters["best_copy_ratio"] = bytes / fastest / copy_bandwidth;
  state.counters["steal_fraction"] = steal_fraction_since(ticks_at_start);
  if (!torch_linear) state.SetLabel(std::string("split ") + kernel_split_name(kernel_split()));
  set_linear_kernels_enabled(true);
  set_kernel_split(process_split);
}

// Random prompt of `length` tokens; `period` > 0 repeats its first `period` tokens (repetitive text).
std::vector<int64_t> make_prompt(int64_t vocab, int64_t length, int64_t period, uint64_t seed) {
  at::Generator generator = make_generator(seed);
  torch::Tensor pattern = at::randint(vocab, {period > 0 ? period : length}, generator, torch::kInt64);
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < length; ++i) prompt.push_back(pattern[i % pattern.size(0)].item<int64_t>());
  return prompt;
}

// seconds / cpu_seconds: summed over `runs` whole decode calls.
void report_decode(benchmark::State& state, const DecodeResult& result, double seconds, double cpu_seconds,
                   double runs) {
  const double decode_s = result.stats.wall_s - result.stats.first_token_s;
  state.counters["cpu_s"] = cpu_seconds / runs;
  state.counters["tokens_per_s"] = static_cast<double>(result.stats.generated_tokens) * runs / seconds;
  state.counters["decode_tokens_per_s"] = static_cast<double>(result.stats.generated_tokens - 1) / decode_s;
  state.counters["wall_s"] = seconds / runs;
  state.counters["forward_calls"] = static_cast<double>(result.stats.forward_calls);
  state.counters["generated_tokens"] = static_cast<double>(result.stats.generated_tokens);
}

// Whole greedy AR generation of `tokens` tokens after a 16-token prompt, with or without the KV cache.
void kv_cache_generation(benchmark::State& state, ModelPool& pool, bool use_cache, int64_t tokens) {
  auto model = pool.get(small_config(), torch::kFloat32, kTargetSeed);
  ArConfig config;
  config.use_cache = use_cache;
  config.stop_on_eos = false;
  ArDecoder decoder(model, config);
  DecodeRequest request;
  request.prompts = {make_prompt(model->config().vocab_size, 16, 0, 3)};
  request.max_new_tokens = tokens;
  DecodeResult result;
  double seconds = 0.0, cpu_seconds = 0.0;
  for (auto _ : state) {
    const double cpu_start = process_cpu_seconds();
    result = decoder.decode(request);
    cpu_seconds += process_cpu_seconds() - cpu_start;
    seconds += result.stats.wall_s;
  }
  report_decode(state, result, seconds, cpu_seconds, static_cast<double>(state.iterations()));
}

enum class DraftKind { kNone, kNgram, kRandomSmall, kTruncated, kSelf, kSelfBfloat16 };

// Greedy generation of 64 tokens after a 128-token repetitive prompt (16 tokens repeated), AR or
// speculative with k = 4 drafts per round.
void speculative_generation(benchmark::State& state, ModelPool& pool, torch::ScalarType dtype, DraftKind kind) {
  constexpr int64_t kDraftLayers = 2;
  const TransformerConfig target_config = qwen25_05b_config();
  auto target = pool.get(target_config, dtype, kTargetSeed);
  std::unique_ptr<Decoder> decoder;
  SpeculativeConfig config;
  config.draft_length = 4;
  config.stop_on_eos = false;
  switch (kind) {
    case DraftKind::kNone: {
      ArConfig ar;
      ar.stop_on_eos = false;
      decoder = std::make_unique<ArDecoder>(target, ar);
      break;
    }
    case DraftKind::kNgram:
      decoder = std::make_unique<SpeculativeDecoder>(target, PromptLookup{3, 1}, config);
      break;
    case DraftKind::kRandomSmall:
      decoder = std::make_unique<SpeculativeDecoder>(
          target, DraftModel{pool.get(with_layers(target_config, kDraftLayers), dtype, kTargetSeed + 1)}, config);
      break;
    case DraftKind::kTruncated: {
      auto draft = pool.get(with_layers(target_config, kDraftLayers), dtype, kTargetSeed);
      TORCH_CHECK(draft->named_parameters().front().second.equal(target->named_parameters().front().second),
                  "the truncated draft must share the target's embedding (same seed, same draw order)");
      decoder = std::make_unique<SpeculativeDecoder>(target, DraftModel{draft}, config);
      break;
    }
    case DraftKind::kSelf:
      decoder = std::make_unique<SpeculativeDecoder>(target, DraftModel{target}, config);
      break;
    case DraftKind::kSelfBfloat16:  // the target's own weights rounded to bfloat16 (a float32 target)
      decoder = std::make_unique<SpeculativeDecoder>(
          target, DraftModel{pool.get(target_config, torch::kBFloat16, kTargetSeed)}, config);
      break;
  }
  DecodeRequest request;
  request.prompts = {make_prompt(target_config.vocab_size, 128, 16, 4)};
  request.max_new_tokens = 64;
  DecodeResult result;
  double seconds = 0.0, cpu_seconds = 0.0;
  for (auto _ : state) {
    const double cpu_start = process_cpu_seconds();
    result = decoder->decode(request);
    cpu_seconds += process_cpu_seconds() - cpu_start;
    seconds += result.stats.wall_s;
  }
  report_decode(state, result, seconds, cpu_seconds, static_cast<double>(state.iterations()));
  const nlohmann::json& details = result.stats.details;
  if (details.contains("drafted")) {
    state.counters["drafted"] = details["drafted"].get<double>();
    state.counters["accepted"] = details["accepted"].get<double>();
    state.counters["acceptance_rate"] =
        details["acceptance_rate"].is_null() ? 0.0 : details["acceptance_rate"].get<double>();
    state.counters["mean_acceptance_length"] =
        details["mean_acceptance_length"].is_null() ? 1.0 : details["mean_acceptance_length"].get<double>();
    state.counters["draft_forward_calls"] = details["draft_forward_calls"].get<double>();
    state.counters["draft_forward_s"] = details["draft_forward_s"].get<double>();
    state.counters["target_forward_s"] = details["target_forward_s"].get<double>();
  }
}

void register_all(ModelPool& pool) {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("copy_bandwidth/torch", copy_torch)->UseRealTime()->MinTime(1.0)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("copy_bandwidth/memcpy", copy_memcpy)->UseRealTime()->MinTime(1.0)->Unit(benchmark::kMillisecond);

  // Each step on the kernels split by the worker pool (the default), on the kernels split by OpenMP, and
  // on LibTorch's linear, one after the other for each shape.
  struct LinearVariant {
    bool torch_linear, openmp_split;
    const char* suffix;
  };
  const LinearVariant variants[] = {{false, false, ""}, {false, true, "/split:openmp"}, {true, false, "/linear:torch"}};
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16}) {
    for (int64_t batch : {1, 4, 8}) {
      for (int64_t context : {128, 512, 2048}) {
        for (const LinearVariant& variant : variants) {
          // float32 never uses the kernels
          if (dtype == torch::kFloat32 && (variant.torch_linear || variant.openmp_split)) continue;
          const std::string name = "decode_step/" + dtype_name(dtype) + "/batch:" + std::to_string(batch) +
                                   "/context:" + std::to_string(context) + variant.suffix;
          RegisterBenchmark(name.c_str(),
                            [&pool, dtype, batch, context, variant](benchmark::State& state) {
                              decode_step(state, pool, dtype, batch, context, variant.torch_linear, 0,
                                          variant.openmp_split);
                            })
              ->UseRealTime()
              ->MinTime(2.0)
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }

  for (int bits : {8, 4}) {  // W8A16 / W4A16: bfloat16 activations, int8 / int4 weights in groups of 32
    for (int64_t batch : {1, 4, 8}) {
      for (int64_t context : {128, 512, 2048}) {
        for (const LinearVariant& variant : variants) {
          if (variant.torch_linear) continue;  // the quantized weights exist only for the kernels
          const std::string name = "decode_step/int" + std::to_string(bits) + "/batch:" + std::to_string(batch) +
                                   "/context:" + std::to_string(context) + variant.suffix;
          RegisterBenchmark(name.c_str(),
                            [&pool, bits, batch, context, variant](benchmark::State& state) {
                              decode_step(state, pool, torch::kBFloat16, batch, context, false, bits,
                                          variant.openmp_split);
                            })
              ->UseRealTime()
              ->MinTime(2.0)
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }

  for (bool use_cache : {true, false}) {
    for (int64_t tokens : {128, 512, 1000}) {
      const std::string name =
          std::string("kv_cache/") + (use_cache ? "cache" : "recompute") + "/tokens:" + std::to_string(tokens);
      RegisterBenchmark(
          name.c_str(),
          [&pool, use_cache, tokens](benchmark::State& state) { kv_cache_generation(state, pool, use_cache, tokens); })
          ->UseRealTime()
          ->Iterations(use_cache ? 3 : 1)
          ->Unit(benchmark::kMillisecond);
    }
  }

  // The unrelated and truncated drafts accept almost nothing with random weights; they run in bfloat16
  // only (in float32 their LM head alone makes them take a minute). The float32 target gets a draft of
  // its own weights in bfloat16 instead.
  const std::vector<std::pair<DraftKind, const char*>> bfloat16_kinds = {
      {DraftKind::kNone, "ar"},
      {DraftKind::kNgram, "ngram3"},
      {DraftKind::kRandomSmall, "draft_random_2layer"},
      {DraftKind::kTruncated, "draft_truncated_2layer"},
      {DraftKind::kSelf, "draft_self"}};
  const std::vector<std::pair<DraftKind, const char*>> float32_kinds = {{DraftKind::kNone, "ar"},
                                                                        {DraftKind::kNgram, "ngram3"},
                                                                        {DraftKind::kSelfBfloat16, "draft_self_bf16"},
                                                                        {DraftKind::kSelf, "draft_self"}};
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16}) {
    for (const auto& [kind, label] : dtype == torch::kFloat32 ? float32_kinds : bfloat16_kinds) {
      const std::string name = std::string("speculative/") + dtype_name(dtype) + "/" + label;
      const DraftKind draft_kind = kind;
      RegisterBenchmark(name.c_str(),
                        [&pool, dtype, draft_kind](benchmark::State& state) {
                          speculative_generation(state, pool, dtype, draft_kind);
                        })
          ->UseRealTime()
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace stepwise::bench

int main(int argc, char** argv) {
  const int threads = stepwise::bench::prepare_benchmark_process(argv);
  stepwise::bench::ModelPool pool;
  stepwise::bench::register_all(pool);
  return stepwise::bench::run_registered_benchmarks(argc, argv, threads);
}
