// Training throughput: whole optimizer steps of train_model (batch, loss inputs, forward, backward,
// gradient clipping, AdamW) for the `tiny` and `small` presets, AR and masked-diffusion objectives,
// float32 and mixed-bf16 precision, on configs/sudoku4x4.yaml's data (4x4 Sudoku rows in the plain format, 34
// tokens each, batch 64). Reports rows/s, tokens/s and the achieved FLOP/s against this machine's bf16
// (and float32) GEMM peak measured in the same process.
// Every figure is given from wall time and from process CPU time per thread: on a shared machine the
// CPU time is the cost of the work itself, the wall time also includes waiting for the cores.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/tasks/sudoku_generator.h"
#include "experiments/training/plain_task_training.h"
#include "models/checkpoint.h"
#include "experiments/training/diffusion_init.h"
#include "experiments/training/model_presets.h"
#include "experiments/training/trainer.h"
#include "models/transformer.h"

namespace stepwise {
namespace {

constexpr int64_t kBatchSize = 64;
constexpr int64_t kExamples = 2048;
constexpr int64_t kWarmupSteps = 3;  // oneDNN primitives, allocator pools; not timed

// configs/sudoku4x4.yaml's training rows: 4x4 Sudoku with 10 givens, "16 digits [SEP]" -> "16 digits [EOS]".
const std::vector<training::TrainingExample>& sudoku_examples() {
  static const std::vector<training::TrainingExample> examples = task_training::encode_examples(
      tasks::generate_sudoku_records(tasks::SudokuSpec{4, 10}, kExamples, /*seed=*/1));
  return examples;
}

struct TrainCase {
  std::string preset;  // "tiny" | "small"
  training::ObjectiveKind objective;
  training::TrainingPrecision precision;
  int64_t timed_steps;
};

// Model, objective and options as the experiment runner builds them for a `train:` block.
struct Setup {
  std::shared_ptr<Transformer> model;
  training::TrainerOptions options;
};

Setup make_setup(const TrainCase& c, int64_t steps) {
  training::PresetRequest request;
  request.preset = c.preset;
  request.vocab_size = CharTokenizer().vocab_size();
  TransformerConfig config = training::model_preset(request);
  const bool diffusion = c.objective == training::ObjectiveKind::kDiffusion;
  if (diffusion) config = training::diffusion_config(config, {CharTokenizer::kMask, true});
  const torch::ScalarType dtype =
      c.precision == training::TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  Setup setup;
  setup.model = random_transformer(config, /*seed=*/1, LoadOptions{dtype, torch::kCPU});
  setup.options.objective = task_training::plain_objective(training::objective_kind_name(c.objective),
                                                             tasks::TaskKind::kSudoku, "paper", 20,
                                                             /*shift_logits=*/true);
  setup.options.steps = steps;
  setup.options.batch_size = kBatchSize;
  setup.options.seed = 1;
  setup.options.lr = 2e-3;
  setup.options.warmup_steps = 1;
  setup.options.precision = c.precision;
  setup.options.pad_id = CharTokenizer::kPad;
  setup.options.show_progress = false;
  return setup;
}

double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
  return values[values.size() / 2];
}

// Wall and CPU seconds of each step after the warm-up, from the trainer's step callback.
struct StepClock {
  std::vector<double> wall_s, cpu_s;
  std::chrono::steady_clock::time_point last_wall;
  double last_cpu = 0.0;
};

void BM_TrainStep(benchmark::State& state, TrainCase c) {
  const int threads = torch::get_num_threads();
  const auto& examples = sudoku_examples();
  Setup setup = make_setup(c, kWarmupSteps + c.timed_steps);
  StepClock clock;
  setup.options.on_step = [&clock](const training::StepReport& report) {
    const auto now = std::chrono::steady_clock::now();
    const double cpu = bench::process_cpu_seconds();
    if (report.steps_done > kWarmupSteps) {
      clock.wall_s.push_back(std::chrono::duration<double>(now - clock.last_wall).count());
      clock.cpu_s.push_back(cpu - clock.last_cpu);
    }
    clock.last_wall = now;
    clock.last_cpu = cpu;
  };
  double final_loss = 0.0;
  for (auto _ : state) {
    clock.wall_s.clear();
    clock.cpu_s.clear();
    clock.last_wall = std::chrono::steady_clock::now();
    clock.last_cpu = bench::process_cpu_seconds();
    final_loss = training::train_model(*setup.model, examples, setup.options).losses.back();
  }

  // Tokens of the rows actually drawn are all real (the Sudoku rows have one length: no padding).
  int64_t tokens_per_row = 0;
  for (const auto& e : examples)
    tokens_per_row = std::max<int64_t>(tokens_per_row, static_cast<int64_t>(e.source_ids.size() + e.target_ids.size()));
  const int64_t target_per_row = static_cast<int64_t>(examples.front().target_ids.size());
  // Training FLOPs = 3 x forward (backward twice the forward): every layer on every token, attention
  // over the row, the LM head on the target positions (the only ones a loss may score).
  const double step_flops =
      3.0 * bench::forward_flops(setup.model->config(), kBatchSize * tokens_per_row, tokens_per_row,
                                 kBatchSize * target_per_row);
  const double wall = median(clock.wall_s), cpu_per_thread = median(clock.cpu_s) / threads;
  const bench::Timing bf16 = bench::gemm_seconds_per_tflop(torch::kBFloat16);
  const bench::Timing fp32 = bench::gemm_seconds_per_tflop(torch::kFloat32);
  state.counters["step_ms_wall"] = 1e3 * wall;
  state.counters["step_ms_cpu"] = 1e3 * cpu_per_thread;
  state.counters["rows/s_wall"] = kBatchSize / wall;
  state.counters["rows/s_cpu"] = kBatchSize / cpu_per_thread;
  state.counters["tokens/s_wall"] = static_cast<double>(kBatchSize * tokens_per_row) / wall;
  state.counters["tokens/s_cpu"] = static_cast<double>(kBatchSize * tokens_per_row) / cpu_per_thread;
  state.counters["GFLOP/step"] = step_flops / 1e9;
  state.counters["GFLOP/s_wall"] = step_flops / wall / 1e9;
  state.counters["bf16_peak_fraction_wall"] = (step_flops / 1e12 / wall) * bf16.wall_s;
  state.counters["bf16_peak_fraction_cpu"] = (step_flops / 1e12 / cpu_per_thread) * (bf16.cpu_s / threads);
  state.counters["fp32_peak_fraction_cpu"] = (step_flops / 1e12 / cpu_per_thread) * (fp32.cpu_s / threads);
  state.counters["parameters"] = static_cast<double>(setup.model->parameter_count());
  state.counters["final_loss"] = final_loss;
  state.SetLabel(std::to_string(c.timed_steps) + " timed steps (median), batch " + std::to_string(kBatchSize) +
                 " x " + std::to_string(tokens_per_row) + " tokens");
}

// The GEMM peak the training steps are compared with: a 2048^3 matmul in the given dtype.
void BM_GemmPeak(benchmark::State& state, torch::ScalarType dtype) {
  const int threads = torch::get_num_threads();
  bench::Timing per_tflop;
  for (auto _ : state) per_tflop = bench::gemm_seconds_per_tflop(dtype);
  state.counters["GFLOP/s_wall"] = 1e3 / per_tflop.wall_s;
  state.counters["GFLOP/s_per_cpu_thread_s"] = 1e3 / (per_tflop.cpu_s / threads);
}

void register_benchmarks() {
  for (auto [name, dtype] : {std::pair{"gemm_peak/bfloat16", torch::kBFloat16}, std::pair{"gemm_peak/float32", torch::kFloat32}})
    benchmark::RegisterBenchmark(name, BM_GemmPeak, dtype)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
  using training::ObjectiveKind;
  using training::TrainingPrecision;
  for (const std::string preset : {"small", "tiny"}) {
    for (ObjectiveKind objective : {ObjectiveKind::kAutoregressive, ObjectiveKind::kDiffusion}) {
      for (TrainingPrecision precision : {TrainingPrecision::kFloat32, TrainingPrecision::kMixedBFloat16}) {
        const TrainCase c{preset, objective, precision, preset == "small" ? 30 : 10};
        const std::string name = "train_step/" + preset + "/" + training::objective_kind_name(objective) + "/" +
                                 training::training_precision_name(precision);
        benchmark::RegisterBenchmark(name.c_str(), BM_TrainStep, c)
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
}

}  // namespace
}  // namespace stepwise

int main(int argc, char** argv) {
  const int threads = stepwise::bench::prepare_benchmark_process(argv);
  stepwise::register_benchmarks();
  return stepwise::bench::run_registered_benchmarks(argc, argv, threads);
}
