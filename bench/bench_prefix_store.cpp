// KV reuse across requests on a few-shot workload: a shared 8-shot prefix (8 examples of 40 tokens)
// followed by 200 short questions (8 to 40 tokens), greedy AR with 4 new tokens each, batches of 8, on a
// random-weight model with the Qwen2.5-0.5B shape in bfloat16. All requests arrive together; the
// time to first token (TTFT) of a request is the time from the start of the workload until its batch
// produced its first token. Variants:
//   no_reuse/fifo           plain prefill of every prompt (the baseline)
//   memory/fifo, memory/spf a fresh in-memory prefix store; arrival order or shortest-prefill-first
//   disk_cold/fifo          a fresh store with an empty disk tier (entries are written as they appear)
//   disk_warm/fifo          a new store (empty memory) on the disk tier the cold run filled: a restart
//   mixed/fifo, mixed/spf   a memory store on the same 200 questions with 20 long unrelated prompts
//                           (384 tokens) arriving after every 10th question: where the order matters
// Speed-ups are against no_reuse/fifo of the same process; prefill GFLOP/s against this machine's
// bfloat16 GEMM peak measured in the same run; shortest-prefill-first against FIFO of the same workload.
// Takes about 8 minutes on an idle 2-core machine, mostly the no-reuse baseline.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "core/prefix_store/prefix_store.h"
#include "decoders/ar_decoder.h"
#include "decoders/prefix_reuse.h"
#include "decoders/request_order.h"
#include "models/model_identity.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kShots = 8;
constexpr int64_t kShotTokens = 40;
constexpr int64_t kQuestions = 200;
constexpr int64_t kNewTokens = 4;
constexpr size_t kBatch = 8;
constexpr int64_t kChunkTokens = 32;

std::shared_ptr<const Transformer> bench_model() {
  static bench::ModelPool pool;
  return pool.get(bench::qwen25_05b_config(), torch::kBFloat16, 77);
}

constexpr int64_t kLongPromptTokens = 384;
constexpr int64_t kLongEvery = 10;

// The 200 prompts: the same 8-shot prefix, then a question of 8 to 40 random tokens. `mixed` adds a
// long prompt without the prefix after every kLongEvery-th question.
std::vector<std::vector<int64_t>> make_workload(bool mixed) {
  {
    std::mt19937 rng(2024);
    std::uniform_int_distribution<int64_t> token(1000, 150000);
    std::uniform_int_distribution<int64_t> question_length(8, 40);
    std::vector<int64_t> prefix;
    for (int64_t i = 0; i < kShots * kShotTokens; ++i) prefix.push_back(token(rng));
    std::vector<std::vector<int64_t>> out;
    std::mt19937 long_rng(7);
    for (int64_t q = 0; q < kQuestions; ++q) {
      std::vector<int64_t> prompt = prefix;
      const int64_t length = question_length(rng);
      for (int64_t i = 0; i < length; ++i) prompt.push_back(token(rng));
      out.push_back(std::move(prompt));
      if (mixed && (q + 1) % kLongEvery == 0) {
        std::vector<int64_t> unrelated;
        for (int64_t i = 0; i < kLongPromptTokens; ++i) unrelated.push_back(token(long_rng));
        out.push_back(std::move(unrelated));
      }
    }
    return out;
  }
}

const std::vector<std::vector<int64_t>>& workload(bool mixed) {
  static const std::vector<std::vector<int64_t>> few_shot = make_workload(false);
  static const std::vector<std::vector<int64_t>> with_long = make_workload(true);
  return mixed ? with_long : few_shot;
}

struct Served {
  bench::Timing time;
  LatencySummary ttft;
  int64_t reused_tokens = 0;
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t computed_prompt_tokens = 0;  // batch rows x columns fed by the prefills
  int64_t batches = 0;
};

Served serve(ArDecoder& decoder, RequestOrder order, bool mixed) {
  const auto& prompts = workload(mixed);
  Served served;
  std::vector<double> ttft;
  std::vector<size_t> pending;
  for (size_t i = 0; i < prompts.size(); ++i) pending.push_back(i);
  served.time = bench::timed([&] {
    const auto start = std::chrono::steady_clock::now();
    while (!pending.empty()) {
      const std::vector<size_t> chosen = next_batch(order, decoder, prompts, pending, kBatch);
      DecodeRequest request;
      request.max_new_tokens = kNewTokens;
      int64_t longest_computed = 0;
      for (size_t index : chosen) {
        request.prompts.push_back(prompts[index]);
        const int64_t length = static_cast<int64_t>(prompts[index].size());
        served.prompt_tokens += length;
        longest_computed = std::max(longest_computed, decoder.prefill_tokens(prompts[index]));
      }
      const double batch_start = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const DecodeResult result = decoder.decode(request);
      for (size_t k = 0; k < chosen.size(); ++k) ttft.push_back(batch_start + result.stats.first_token_s);
      served.generated_tokens += result.stats.generated_tokens;
      served.reused_tokens += result.stats.details.value("reused_prompt_tokens", int64_t{0});
      served.computed_prompt_tokens += longest_computed * static_cast<int64_t>(chosen.size());
      ++served.batches;
      for (size_t index : chosen) pending.erase(std::find(pending.begin(), pending.end(), index));
    }
  });
  served.ttft = summarize_latencies(ttft);
  return served;
}

enum Variant { kNoReuse, kMemoryFifo, kMemorySpf, kDiskCold, kDiskWarm, kMixedFifo, kMixedSpf };
const char* const kNames[] = {"no_reuse/fifo",  "memory/fifo", "memory/spf", "disk_cold/fifo",
                              "disk_warm/fifo", "mixed/fifo",  "mixed/spf"};

std::string disk_root() { return (fs::temp_directory_path() / "stepwise-bench-prefix-store").string(); }

void BM_FewShot(benchmark::State& state) {
  const auto variant = static_cast<Variant>(state.range(0));
  auto model = bench_model();
  static const std::string identity = model_identity(*model);
  const int threads = torch::get_num_threads();
  if (variant == kDiskCold) fs::remove_all(disk_root());

  std::shared_ptr<PrefixReuse> reuse;
  std::shared_ptr<PrefixStore> store;
  if (variant != kNoReuse) {
    PrefixStoreOptions options;
    options.memory_bytes = int64_t{256} << 20;
    options.chunk_tokens = kChunkTokens;
    if (variant == kDiskCold || variant == kDiskWarm) options.disk_path = disk_root();
    store = std::make_shared<PrefixStore>(options);
    reuse = std::make_shared<PrefixReuse>(store, identity, model->dtype());
  }
  ArConfig config;
  config.stop_on_eos = false;
  ArDecoder decoder(model, config, reuse);
  const bool spf = variant == kMemorySpf || variant == kMixedSpf;
  const bool mixed = variant == kMixedFifo || variant == kMixedSpf;
  const RequestOrder order = spf ? RequestOrder::kShortestPrefillFirst : RequestOrder::kFifo;

  Served served;
  for (auto _ : state) served = serve(decoder, order, mixed);

  static std::map<int, Served> measured;
  measured[variant] = served;
  state.counters["wall_s"] = served.time.wall_s;
  state.counters["cpu_s_per_thread"] = served.time.cpu_s / threads;
  const auto requests = static_cast<double>(workload(mixed).size());
  state.counters["requests/s_wall"] = requests / served.time.wall_s;
  state.counters["tokens/s_wall"] = static_cast<double>(served.generated_tokens) / served.time.wall_s;
  state.counters["ttft_mean_s"] = served.ttft.mean_s;
  state.counters["ttft_p90_s"] = served.ttft.p90_s;
  state.counters["reused_fraction"] =
      static_cast<double>(served.reused_tokens) / static_cast<double>(served.prompt_tokens);
  state.counters["computed_prompt_tokens"] = static_cast<double>(served.computed_prompt_tokens);
  // Prefill FLOPs actually computed (padded batch columns included), against the GEMM peak.
  const bench::Timing peak = bench::gemm_seconds_per_tflop(torch::kBFloat16);
  const double prefill_tflop =
      bench::forward_flops(model->config(), served.computed_prompt_tokens, kShots * kShotTokens + 24, 0) / 1e12;
  state.counters["prefill_tflop"] = prefill_tflop;
  state.counters["gemm_peak_GFLOP/s_wall"] = 1e3 / peak.wall_s;
  if (variant == kMixedSpf && measured.count(kMixedFifo)) {
    const Served& fifo = measured[kMixedFifo];
    state.counters["ttft_mean_ratio_vs_fifo"] = fifo.ttft.mean_s / served.ttft.mean_s;
    state.counters["ttft_p90_ratio_vs_fifo"] = fifo.ttft.p90_s / served.ttft.p90_s;
    state.counters["speedup_wall_vs_fifo"] = fifo.time.wall_s / served.time.wall_s;
  } else if (variant == kMemorySpf && measured.count(kMemoryFifo)) {
    const Served& fifo = measured[kMemoryFifo];
    state.counters["ttft_mean_ratio_vs_fifo"] = fifo.ttft.mean_s / served.ttft.mean_s;
    state.counters["ttft_p90_ratio_vs_fifo"] = fifo.ttft.p90_s / served.ttft.p90_s;
    state.counters["speedup_wall_vs_fifo"] = fifo.time.wall_s / served.time.wall_s;
  }
  if (!mixed && measured.count(kNoReuse)) {
    const Served& base = measured[kNoReuse];
    state.counters["speedup_wall"] = base.time.wall_s / served.time.wall_s;
    state.counters["speedup_cpu"] = base.time.cpu_s / served.time.cpu_s;
    state.counters["ttft_mean_ratio"] = base.ttft.mean_s / served.ttft.mean_s;
  }
  if (store) {
    const PrefixStoreStats stats = store->stats();
    state.counters["memory_hits"] = static_cast<double>(stats.memory_hits);
    state.counters["disk_hits"] = static_cast<double>(stats.disk_hits);
    state.counters["disk_writes"] = static_cast<double>(stats.disk_writes);
    state.counters["torn"] = static_cast<double>(stats.torn);
  }
  state.SetLabel(kNames[variant]);
}

BENCHMARK(BM_FewShot)
    ->DenseRange(kNoReuse, kMixedSpf)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace stepwise

int main(int argc, char** argv) {
  const int threads = stepwise::bench::prepare_benchmark_process(argv);
  return stepwise::bench::run_registered_benchmarks(argc, argv, threads);
}
