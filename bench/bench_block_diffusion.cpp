// Cost per generated token on random-weight models of the Qwen2.5-0.5B shape in bfloat16 (random
// weights are enough for cost): AR greedy decoding, speculative decoding with prompt-lookup drafts and
// with a masked-diffusion draft (a second random model of the same shape, bidirectional with a mask
// token: its drafts are almost never accepted, so this is the cost of drafting on top of AR), and block
// diffusion (blocks of 32, sub-blocks of 8, threshold 0.9) without a cache, with the block cache and
// with the sub-block dual cache. Random weights give nearly flat distributions, so the block-diffusion
// model's final norm is scaled by kSharpen to make most positions pass the threshold, as in
// bench_diffusion. One generation of 64 tokens after a 64-token prompt per benchmark.
// Every figure is wall time and process CPU time (divided by the thread count).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "decoders/ar_decoder.h"
#include "decoders/diffusion/block_diffusion_decoder.h"
#include "decoders/speculative_decoder.h"
#include "models/checkpoint.h"

namespace stepwise {
namespace {

constexpr int64_t kPrompt = 64;
constexpr int64_t kGenerated = 64;
constexpr double kSharpen = 30.0;

enum class Model { kCausal, kDiffusion, kSharpenedDiffusion };

std::shared_ptr<Transformer> bench_model(Model kind) {
  static std::map<Model, std::shared_ptr<Transformer>> models;
  auto& model = models[kind];
  if (!model) {
    TransformerConfig config = bench::qwen25_05b_config();
    if (kind != Model::kCausal) {
      config.bidirectional = true;
      config.mask_token_id = 151665;
      config.pad_token_id = 151643;
    }
    model = random_transformer(config, kind == Model::kCausal ? 1 : 2, LoadOptions{torch::kBFloat16, torch::kCPU});
    if (kind == Model::kSharpenedDiffusion) {
      torch::NoGradGuard no_grad;
      for (auto& [name, tensor] : model->named_parameters())
        if (name == "model.norm.weight") tensor.mul_(kSharpen);
    }
  }
  return model;
}

DecodeRequest request() {
  DecodeRequest request;
  request.prompts = {{}};
  for (int64_t i = 0; i < kPrompt; ++i) request.prompts[0].push_back((i * 7919 + 13) % 150000);
  request.max_new_tokens = kGenerated;
  return request;
}

enum Variant : int64_t { kAr, kNgram, kDiffusionDraft, kBlockNone, kBlockCached, kBlockDual };

std::unique_ptr<Decoder> make(Variant variant) {
  SpeculativeConfig speculative;
  speculative.draft_length = 4;
  speculative.stop_on_eos = false;
  BlockDiffusionConfig block;
  block.block_length = 32;
  block.sub_block_length = 8;
  block.threshold = 0.9;
  block.selection = Selection::kMaskgitPlus;
  switch (variant) {
    case kAr: {
      ArConfig config;
      config.stop_on_eos = false;
      return std::make_unique<ArDecoder>(bench_model(Model::kCausal), config);
    }
    case kNgram:
      return std::make_unique<SpeculativeDecoder>(bench_model(Model::kCausal), PromptLookup{3, 1}, speculative);
    case kDiffusionDraft:
      return std::make_unique<SpeculativeDecoder>(bench_model(Model::kCausal),
                                                  DraftModel{bench_model(Model::kDiffusion), 1}, speculative);
    case kBlockNone:
      block.cache = BlockCacheMode::kNone;
      break;
    case kBlockCached:
      block.cache = BlockCacheMode::kBlock;
      break;
    case kBlockDual:
      block.cache = BlockCacheMode::kDual;
      break;
  }
  return std::make_unique<BlockDiffusionDecoder>(bench_model(Model::kSharpenedDiffusion), block);
}

const char* label(Variant variant) {
  switch (variant) {
    case kAr: return "ar greedy";
    case kNgram: return "speculative, n-gram drafts, k=4";
    case kDiffusionDraft: return "speculative, diffusion draft (1 forward), k=4";
    case kBlockNone: return "block diffusion 32/8, threshold 0.9, no cache";
    case kBlockCached: return "block diffusion 32/8, threshold 0.9, block cache";
    case kBlockDual: return "block diffusion 32/8, threshold 0.9, dual cache";
  }
  return "?";
}

void BM_CostPerToken(benchmark::State& state) {
  const auto variant = static_cast<Variant>(state.range(0));
  const int threads = torch::get_num_threads();
  std::unique_ptr<Decoder> decoder = make(variant);
  DecodeResult result;
  bench::Timing t{0.0, 0.0};
  for (auto _ : state) t = bench::timed([&] { result = decoder->decode(request()); });
  const double tokens = static_cast<double>(result.tokens[0].size());
  state.counters["wall_s"] = t.wall_s;
  state.counters["cpu_s_per_thread"] = t.cpu_s / threads;
  state.counters["wall_ms_per_token"] = 1e3 * t.wall_s / tokens;
  state.counters["cpu_ms_per_token_per_thread"] = 1e3 * t.cpu_s / threads / tokens;
  state.counters["target_forwards"] = static_cast<double>(result.stats.forward_calls);
  const nlohmann::json& details = result.stats.details;
  if (details.contains("draft_forward_calls"))
    state.counters["draft_forwards"] = details["draft_forward_calls"].get<double>();
  if (details.contains("accepted")) state.counters["accepted"] = details["accepted"].get<double>();
  if (details.contains("tokens_fed")) state.counters["columns_fed"] = details["tokens_fed"].get<double>();
  state.SetLabel(label(variant));
}

BENCHMARK(BM_CostPerToken)
    ->DenseRange(kAr, kBlockDual)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace stepwise

int main(int argc, char** argv) {
  const int threads = stepwise::bench::prepare_benchmark_process(argv);
  return stepwise::bench::run_registered_benchmarks(argc, argv, threads);
}
