// Diffusion decoding cost on a random-weight bidirectional model with the Qwen2.5-0.5B shape in
// bfloat16: time per step (one full forward + selection) by canvas size against this machine's GEMM
// peak measured here, generation speed against the number of steps, and Fast-dLLM's prefix / dual
// caches and threshold decoding against plain decoding at 256 generated tokens (about 5 minutes on an
// otherwise idle 2-core machine).
// Every figure is reported as wall time and as process CPU time: on a shared machine the CPU time
// (divided by the thread count) is the cost of the work itself, the wall time also includes waiting.
// Model shape, thread set-up and CPU clock come from bench_common.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "models/checkpoint.h"

namespace stepwise {
namespace {

// Random weights give nearly flat distributions, so a 0.9 threshold would never trigger. The
// Fast-dLLM runs use a copy whose final norm is scaled by kSharpen (logits x kSharpen), which makes
// the output distributions peaked enough that most, but not all, positions pass 0.9.
constexpr double kSharpen = 30.0;

// The Qwen2.5-0.5B shape as a bidirectional model with a mask token (Dream's id layout).
TransformerConfig diffusion_shape() {
  TransformerConfig config = bench::qwen25_05b_config();
  config.bidirectional = true;
  config.mask_token_id = 151665;
  config.pad_token_id = 151643;
  return config;
}

// The shared random model (created once); `sharpened` scales the final norm by kSharpen.
std::shared_ptr<Transformer> bench_model(bool sharpened) {
  static std::map<bool, std::shared_ptr<Transformer>> models;
  auto& model = models[sharpened];
  if (!model) {
    model = random_transformer(diffusion_shape(), 1234, LoadOptions{torch::kBFloat16, torch::kCPU});
    if (sharpened) {
      torch::NoGradGuard no_grad;
      for (auto& [name, tensor] : model->named_parameters())
        if (name == "model.norm.weight") tensor.mul_(kSharpen);
    }
  }
  return model;
}

std::vector<int64_t> prompt_of(int64_t length) {
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < length; ++i) prompt.push_back((i * 7919 + 13) % 150000);
  return prompt;
}

DecodeResult decode_once(const std::shared_ptr<Transformer>& model, const DiffusionConfig& config, int64_t prompt,
                         int64_t gen) {
  DecodeRequest request;
  request.prompts = {prompt_of(prompt)};
  request.max_new_tokens = gen;
  return DiffusionDecoder(model, config).decode(request);
}

void report(benchmark::State& state, const bench::Timing& t, int threads) {
  state.counters["wall_s"] = t.wall_s;
  state.counters["cpu_s_per_thread"] = t.cpu_s / threads;
}

void BM_MatmulPeak(benchmark::State& state) {
  const auto dtype = state.range(0) == 16 ? torch::kBFloat16 : torch::kFloat32;
  const int threads = torch::get_num_threads();
  bench::Timing per_tflop;
  for (auto _ : state) per_tflop = bench::gemm_seconds_per_tflop(dtype);
  state.counters["GFLOP/s_wall"] = 1e3 / per_tflop.wall_s;
  state.counters["GFLOP/s_per_cpu_thread_s"] = 1e3 / (per_tflop.cpu_s / threads);
  state.SetLabel(dtype == torch::kBFloat16 ? "bfloat16 2048^3" : "float32 2048^3");
}

// One diffusion step: a full forward of the canvas (half prompt, half masks) and entropy selection over
// every masked position (steps = 1 reveals them all). The least disturbed iteration counts.
void BM_DiffusionStep(benchmark::State& state) {
  const int64_t canvas = state.range(0), gen = canvas / 2;
  const int threads = torch::get_num_threads();
  auto model = bench_model(false);
  DiffusionConfig config;
  config.selection = Selection::kEntropy;
  config.steps = 1;
  decode_once(model, config, canvas - gen, gen);  // oneDNN primitives for these shapes
  bench::Timing best{1e30, 1e30};
  for (auto _ : state) {
    bench::Timing t = bench::timed([&] { benchmark::DoNotOptimize(decode_once(model, config, canvas - gen, gen)); });
    best.wall_s = std::min(best.wall_s, t.wall_s);
    best.cpu_s = std::min(best.cpu_s, t.cpu_s);
  }
  const double tflop = bench::forward_flops(model->config(), canvas, canvas, gen) / 1e12;
  const bench::Timing peak = bench::gemm_seconds_per_tflop(torch::kBFloat16);
  report(state, best, threads);
  state.counters["TFLOP"] = tflop;
  state.counters["GFLOP/s_wall"] = 1e3 * tflop / best.wall_s;
  state.counters["peak_fraction_wall"] = (tflop / best.wall_s) / (1.0 / peak.wall_s);
  state.counters["peak_fraction_cpu"] = (tflop / best.cpu_s) / (1.0 / peak.cpu_s);
}

// Generation speed against steps: N = 32 tokens after a 32-token prompt, entropy, steps = N .. N/8.
void BM_StepsSweep(benchmark::State& state) {
  const int64_t gen = 32, steps = state.range(0);
  const int threads = torch::get_num_threads();
  auto model = bench_model(false);
  DiffusionConfig config;
  config.selection = Selection::kEntropy;
  config.steps = steps;
  bench::Timing t;
  int64_t nfe = 0;
  for (auto _ : state) t = bench::timed([&] { nfe = decode_once(model, config, 32, gen).stats.forward_calls; });
  report(state, t, threads);
  state.counters["NFE"] = static_cast<double>(nfe);
  state.counters["tokens/s_wall"] = static_cast<double>(gen) / t.wall_s;
  state.counters["tokens/s_cpu"] = static_cast<double>(gen) / (t.cpu_s / threads);
}

// Fast-dLLM at 256 generated tokens after a 32-token prompt, blocks of 32, LLaDA low_confidence.
// Baselines: plain decoding with one token per step (256 steps, Fast-dLLM's baseline) and with four
// (64 steps). The caches run the 64-step schedule; threshold runs take as many steps as each block
// needs until it has no mask left.
enum FastMode : int64_t { kPlain256, kPlain64, kPrefixCache, kDualCache, kThreshold, kThresholdDual };

void BM_FastDllm(benchmark::State& state) {
  static std::map<int64_t, bench::Timing> measured;
  const auto mode = static_cast<FastMode>(state.range(0));
  const int threads = torch::get_num_threads();
  auto model = bench_model(true);
  DiffusionConfig config;
  config.selection = Selection::kLowConfidence;
  config.schedule = Schedule::kLladaEvenSplit;
  config.block_length = 32;
  config.steps = mode == kPlain256 ? 256 : 64;
  if (mode == kPrefixCache) config.cache = CacheMode::kPrefix;
  if (mode == kDualCache || mode == kThresholdDual) config.cache = CacheMode::kDual;
  if (mode == kThreshold || mode == kThresholdDual) config.threshold = 0.9;
  DecodeResult result;
  bench::Timing t;
  for (auto _ : state) t = bench::timed([&] { result = decode_once(model, config, 32, 256); });
  int64_t fed = 0;
  for (const auto& n : result.stats.details["tokens_fed_per_step"]) fed += n.get<int64_t>();
  measured[mode] = t;
  report(state, t, threads);
  state.counters["NFE"] = static_cast<double>(result.stats.forward_calls);
  state.counters["tokens/step"] = 256.0 / static_cast<double>(result.stats.forward_calls);
  state.counters["tokens_fed"] = static_cast<double>(fed);
  for (auto [baseline, name] : {std::pair{kPlain256, "vs_plain256"}, std::pair{kPlain64, "vs_plain64"}}) {
    if (!measured.count(baseline) || mode == baseline) continue;
    state.counters[std::string("speedup_wall_") + name] = measured[baseline].wall_s / t.wall_s;
    state.counters[std::string("speedup_cpu_") + name] = measured[baseline].cpu_s / t.cpu_s;
  }
  static const char* const kNames[] = {"plain, 256 steps",     "plain, 64 steps", "prefix cache, 64 steps",
                                       "dual cache, 64 steps", "threshold 0.9",   "threshold 0.9 + dual cache"};
  state.SetLabel(kNames[mode]);
}

BENCHMARK(BM_MatmulPeak)->Arg(16)->Arg(32)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffusionStep)->Arg(128)->Arg(384)->Arg(1024)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StepsSweep)->Arg(32)->Arg(16)->Arg(8)->Arg(4)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK(BM_FastDllm)
    ->Arg(kPlain256)
    ->Arg(kPlain64)
    ->Arg(kPrefixCache)
    ->Arg(kDualCache)
    ->Arg(kThreshold)
    ->Arg(kThresholdDual)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace stepwise

int main(int argc, char** argv) {
  const int threads = stepwise::bench::prepare_benchmark_process(argv);
  return stepwise::bench::run_registered_benchmarks(argc, argv, threads);
}
