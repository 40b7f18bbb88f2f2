// Task calibration and the quantization of one experiment model.
#include "experiments/runner/quantized_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <iostream>

#include "core/error.h"
#include "experiments/tasks/countdown_generator.h"
#include "experiments/tasks/pathstar.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/sudoku_generator.h"
#include "models/quantization/autoround.h"
#include "models/quantization/gptq_checkpoint.h"

namespace stepwise::runner {
namespace {

// Seed offset keeping calibration problems apart from the evaluation set's and training's seeds.
constexpr uint64_t kCalibrationSeedOffset = 0x9E3779B97F4A7C15ull;

std::vector<tasks::TaskRecord> calibration_records(const TaskSpec& task, int64_t count, uint64_t seed) {
  const uint64_t mixed = seed ^ kCalibrationSeedOffset;
  if (task.kind == tasks::TaskKind::kSudoku) return tasks::generate_sudoku_records(task.sudoku, count, mixed);
  if (task.kind == tasks::TaskKind::kPathStar) {
    tasks::PathStarSpec spec = task.pathstar;
    spec.split = tasks::PathStarSplit::kInDistribution;  // never the held-out graphs evaluated
    return tasks::generate_pathstar_records(spec, count, mixed);
  }
  return tasks::generate_countdown_records(task.countdown, count, mixed);
}

// (S, T) token ids: each record's source and target in the model's format, cut to the shortest.
torch::Tensor calibration_tokens(const QuantizeSpec& spec, const TaskSpec& task, const Tokenizer& tokenizer,
                                 int64_t vocab_size) {
  std::vector<std::vector<int64_t>> sequences;
  const CharTokenizer characters;
  for (const tasks::TaskRecord& record : calibration_records(task, spec.samples, spec.seed)) {
    std::vector<int64_t> ids;
    if (task.format == PromptFormat::kPlain) {
      const tasks::PlainEncoding encoded = tasks::encode_plain(record, characters);
      ids = encoded.source_ids;
      ids.insert(ids.end(), encoded.target_ids.begin(), encoded.target_ids.end());
    } else {
      ids = tokenizer.encode(record.input + "\n" + record.output);
    }
    sequences.push_back(std::move(ids));
  }
  size_t length = static_cast<size_t>(spec.seq_len);
  for (const auto& ids : sequences) length = std::min(length, ids.size());
  check(length >= 1 && !sequences.empty(), "quantize: the task gave no calibration tokens");
  torch::Tensor out = torch::empty({static_cast<int64_t>(sequences.size()), static_cast<int64_t>(length)}, torch::kInt64);
  for (size_t s = 0; s < sequences.size(); ++s)
    for (size_t t = 0; t < length; ++t) {
      const int64_t id = sequences[s][t];
      check(id >= 0 && id < vocab_size, "quantize: calibration token ", id, " is outside the model's vocabulary");
      out[static_cast<int64_t>(s)][static_cast<int64_t>(t)] = id;
    }
  return out;
}

}  // namespace

void quantize_for_task(const QuantizeSpec& spec, const TaskSpec& task, const Transformer& base,
                       const Tokenizer& tokenizer, const std::string& directory) {
  QuantizationConfig config;
  config.scheme = {spec.bits, spec.group_size, spec.sym};
  config.method = spec.method;
  QuantizedWeights weights;
  if (spec.method == "autoround") {
    AutoRoundSettings settings;
    settings.iters = spec.iters;
    settings.lr = 1.0 / static_cast<double>(spec.iters);
    settings.batch_size = spec.batch_size;
    settings.seed = spec.seed;
    const torch::Tensor calibration = calibration_tokens(spec, task, tokenizer, base.config().vocab_size);
    settings.samples = calibration.size(0);
    settings.seq_len = calibration.size(1);
    config.autoround = settings;
    weights = quantize_autoround(base, calibration, config.scheme, settings, false, [](const BlockTuning& t) {
      std::cerr << "  block " << t.layer << ": loss " << t.rtn_loss << " -> " << t.best_loss << "\n";
    });
  } else {
    weights = quantize_rtn(base, config.scheme);
  }
  save_gptq_checkpoint(base, weights, config, directory);
}

}  // namespace stepwise::runner
