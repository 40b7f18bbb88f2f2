// `stepwise train`: train a small AR, masked-diffusion or MGDM model from scratch (or a diffusion model
// from an AR checkpoint) on generated Sudoku / Countdown / path-star problems, validate during training
// with a real decoder and the task scorer, and finish with an evaluation on the held-out set: AR greedy
// for AR models; for diffusion models the remasking and Dream-entropy decoders at several step counts
// and the study's stochastic remasking setting. Writes a Hugging Face checkpoint, a resumable training
// state and training_summary.json.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/tensor/runtime.h"
#include "core/timing.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/cli/commands.h"
#include "experiments/runner/builtin_decoders.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/tasks/countdown_generator.h"
#include "experiments/tasks/pathstar.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/scoring.h"
#include "experiments/tasks/sudoku_generator.h"
#include "experiments/training/distributed.h"
#include "experiments/training/plain_task_training.h"
#include "experiments/training/task_trainer.h"
#include "experiments/training/trainer.h"
#include "models/checkpoint.h"

namespace stepwise::cli {
namespace {

namespace fs = std::filesystem;
using tasks::Metric;
using tasks::TaskRecord;

struct TaskData {
  tasks::TaskKind kind = tasks::TaskKind::kSudoku;
  std::string label;              // e.g. "sudoku4x4-g10", "countdown3", "pathstar-d3-l4-n20"
  std::vector<TaskRecord> train;  // never containing a validation input
  std::vector<TaskRecord> validation;
  std::vector<Metric> metrics;  // the first is shown during training
};

tasks::PathStarSpec pathstar_spec(const ArgParser& parser) {
  tasks::PathStarSpec spec;
  spec.degree = static_cast<int>(parser.get_int("degree"));
  spec.length = static_cast<int>(parser.get_int("length"));
  spec.nodes = static_cast<int>(parser.get_int("nodes"));
  tasks::validate_pathstar_spec(spec);
  return spec;
}

// Path-star validation graphs come from the held-out tenth of all graphs, training graphs never do.
std::vector<TaskRecord> generate(const ArgParser& parser, tasks::TaskKind kind, int64_t count, uint64_t seed,
                                 bool held_out) {
  if (kind == tasks::TaskKind::kPathStar) {
    tasks::PathStarSpec spec = pathstar_spec(parser);
    spec.split = held_out ? tasks::PathStarSplit::kHeldOut : tasks::PathStarSplit::kInDistribution;
    return tasks::generate_pathstar_records(spec, count, seed);
  }
  if (kind == tasks::TaskKind::kSudoku) {
    tasks::SudokuSpec spec;
    spec.size = static_cast<int>(parser.get_int("sudoku-size"));
    spec.givens = static_cast<int>(parser.get_int_optional("givens").value_or(tasks::default_sudoku_givens(spec.size)));
    return tasks::generate_sudoku_records(spec, count, seed);
  }
  tasks::CountdownSpec spec;
  spec.numbers = static_cast<int>(parser.get_int("countdown-numbers"));
  return tasks::generate_countdown_records(spec, count, seed);
}

// Held-out problems come from data_seed + 1, training problems from data_seed; training drops any
// problem that is also held out.
TaskData make_task_data(const ArgParser& parser, uint64_t data_seed, int64_t train_size) {
  TaskData data;
  data.kind = tasks::parse_task_kind(parser.get("task"));
  const int64_t val_size = parser.get_int("val-size");
  check(val_size > 0 && val_size <= 1000000, "--val-size must lie in [1, 1000000], got ", val_size);
  data.validation = generate(parser, data.kind, val_size, data_seed + 1, true);
  std::set<std::string> held_out;
  for (const auto& record : data.validation) held_out.insert(record.input);
  for (const auto& record : generate(parser, data.kind, train_size, data_seed, false))
    if (!held_out.count(record.input)) data.train.push_back(record);
  if (data.kind == tasks::TaskKind::kSudoku) {
    data.label = "sudoku" + parser.get("sudoku-size") + "x" + parser.get("sudoku-size") + "-g" +
                 std::to_string(parser.get_int_optional("givens").value_or(
                     tasks::default_sudoku_givens(static_cast<int>(parser.get_int("sudoku-size")))));
    data.metrics = {Metric::kSudokuValid, Metric::kSudokuExact, Metric::kSudokuCells};
  } else if (data.kind == tasks::TaskKind::kPathStar) {
    data.label = "pathstar-d" + parser.get("degree") + "-l" + parser.get("length") + "-n" + parser.get("nodes");
    data.metrics = {Metric::kPathStarExact};
  } else {
    data.label = "countdown" + parser.get("countdown-numbers");
    data.metrics = {Metric::kCountdownEquations, Metric::kCountdownNumbers};
  }
  return data;
}

task_training::TaskTrainingData to_training_data(const TaskData& data) {
  task_training::TaskTrainingData training_data;
  training_data.kind = data.kind;
  training_data.validation_metric = data.metrics.front();
  training_data.train = data.train;
  training_data.validation = data.validation;
  return training_data;
}

// The command line's spelling of each spec key (messages name the flag the user typed).
std::string flag_of(const std::string& key) {
  static const std::map<std::string, std::string> renamed = {
      {"shift_logits", "no-shift"},       {"train_examples", "train-size"}, {"learning_rate", "lr"},
      {"warmup_steps", "warmup"},         {"grad_clip", "clip-norm"},       {"checkpoint_every", "save-every"},
      {"validation_examples", "validation-subset"}};
  auto found = renamed.find(key);
  std::string flag = found != renamed.end() ? found->second : key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return "--" + flag;
}

// The flags as a task-training spec: the spec's own defaults for everything not given.
task_training::TaskTrainingSpec spec_from_flags(const ArgParser& parser) {
  task_training::TaskTrainingSpec spec;
  spec.objective = parser.get("objective");
  if (parser.given("diffusion-form")) spec.diffusion_form = parser.get("diffusion-form");
  if (parser.given("timesteps")) spec.timesteps = parser.get_int("timesteps");
  spec.weighting = parser.get_optional("weighting");
  spec.token_alpha = parser.get_double_optional("token-alpha");
  spec.token_gamma = parser.get_double_optional("token-gamma");
  spec.shift_logits = !parser.get_switch("no-shift");
  spec.block_length = parser.get_int_optional("block-length");
  if (parser.given("preset")) spec.preset = parser.get("preset");
  if (parser.given("layout")) spec.layout = parser.get("layout");
  spec.layers = parser.get_int_optional("layers");
  spec.hidden = parser.get_int_optional("hidden");
  spec.heads = parser.get_int_optional("heads");
  spec.kv_heads = parser.get_int_optional("kv-heads");
  spec.intermediate = parser.get_int_optional("intermediate");
  spec.init_from = parser.get_optional("init-from");
  check(!(parser.given("epochs") && parser.given("steps")), "give --steps or --epochs, not both");
  if (parser.given("steps")) spec.steps = parser.get_int("steps");
  spec.epochs = parser.get_double_optional("epochs");
  if (parser.given("batch-size")) spec.batch_size = parser.get_int("batch-size");
  if (parser.given("lr")) spec.learning_rate = parser.get_double("lr");
  spec.warmup_steps = parser.get_int_optional("warmup");
  if (parser.given("min-lr-ratio")) spec.min_lr_ratio = parser.get_double("min-lr-ratio");
  if (parser.given("weight-decay")) spec.weight_decay = parser.get_double("weight-decay");
  if (parser.given("clip-norm")) spec.grad_clip = parser.get_double("clip-norm");
  if (parser.given("precision")) spec.precision = task_training::resolve_precision(parser.get("precision"), false);
  if (parser.given("seed")) {
    const int64_t seed = parser.get_int("seed");
    check(seed >= 0, "--seed must not be negative");
    spec.seed = static_cast<uint64_t>(seed);
  }
  if (parser.given("save-every")) spec.checkpoint_every = parser.get_int("save-every");
  if (parser.given("train-size")) spec.train_examples = parser.get_int("train-size");
  if (parser.given("data-seed")) {
    const int64_t data_seed = parser.get_int("data-seed");
    check(data_seed >= 0, "--data-seed must not be negative");
    spec.data_seed = static_cast<uint64_t>(data_seed);
  }
  if (parser.given("validation-decoder")) spec.validation_decoder = parser.get("validation-decoder");
  if (parser.get_switch("teacher-forced")) {
    check(!parser.given("validation-decoder"), "give --teacher-forced or --validation-decoder, not both");
    spec.validation_decoder = "teacher-forced";
  }
  spec.validate_every = parser.get_int_optional("validate-every");
  if (parser.given("validation-subset")) spec.validation_examples = parser.get_int("validation-subset");
  if (auto problem = task_training::find_spec_problem(spec)) throw Error(flag_of(problem->key) + ": " + problem->message);
  return spec;
}

// The --init-from checkpoint, loaded in the spec's weight precision.
std::shared_ptr<const Transformer> load_init_from(const task_training::TaskTrainingSpec& spec) {
  if (!spec.init_from) return nullptr;
  const torch::ScalarType dtype =
      spec.precision == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  return load_checkpoint(*spec.init_from, LoadOptions{dtype, torch::kCPU});
}

// AR greedy to the character vocabulary's [EOS].
runner::DecoderSpec ar_greedy() { return runner::ar_greedy_spec({CharTokenizer::kEos}); }

// Decodes `records` in batches and scores every metric: {metric: accuracy, ..., "nfe", "wall_s"}.
nlohmann::ordered_json evaluate(const Transformer& model, const runner::DecoderSpec& choice, tasks::TaskKind kind,
                                const std::vector<TaskRecord>& records, const std::vector<Metric>& metrics,
                                int64_t gen_length, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  // Non-owning handle: `model` outlives the decoder, which lives only in this call.
  std::shared_ptr<const Transformer> handle(std::shared_ptr<const Transformer>{}, &model);
  std::unique_ptr<Decoder> decoder = runner::make_decoder(choice, handle);
  int64_t forward_calls = 0;
  Stopwatch clock;
  const std::vector<std::string> predictions =
      task_training::decode_inputs(*decoder, kind, records, gen_length, batch_size, &forward_calls);
  nlohmann::ordered_json out;
  out["decoder"] = choice.name;
  for (Metric metric : metrics)
    out[tasks::metric_name(metric)] = tasks::score_predictions(metric, records, predictions).accuracy();
  out["n"] = records.size();
  out["forward_calls"] = forward_calls;
  out["wall_s"] = clock.seconds();
  return out;
}

// training_summary.json: the task, objective, model, training figures, validation history and the final
// evaluation of the held-out set (AR greedy; or the remasking and Dream-entropy decoders at every
// --eval-steps count and the study's stochastic remasking setting).
void write_summary(const ArgParser& parser, const task_training::TaskTrainingSpec& spec, const TaskData& data,
                   const task_training::TaskTrainingRun& run, int threads, const std::string& out_dir) {
  const Transformer& model = *run.model;
  const training::ObjectiveOptions& objective = run.objective;
  nlohmann::ordered_json summary;
  summary["task"] = data.label;
  summary["objective"] = spec.objective;
  if (spec.diffusion()) {
    summary["diffusion"] = {{"schedule", training::noise_schedule_name(objective.diffusion.schedule)},
                            {"timesteps", objective.diffusion.timesteps},
                            {"weighting", training::loss_weighting_name(objective.diffusion.weighting)},
                            {"normalization", training::loss_normalization_name(objective.diffusion.normalization)},
                            {"shift_logits", objective.diffusion.shift_logits}};
    if (spec.block_length) summary["diffusion"]["block_length"] = *spec.block_length;
    if (objective.diffusion.token_reweighting)
      summary["diffusion"]["token_reweighting"] = {{"alpha", objective.diffusion.token_reweighting->alpha},
                                                   {"gamma", objective.diffusion.token_reweighting->gamma}};
  }
  summary["model"] = {{"preset", spec.preset},
                      {"init_from", spec.init_from.value_or("")},
                      {"model_type", model.config().model_type},
                      {"layers", model.config().num_layers},
                      {"hidden", model.config().hidden_size},
                      {"heads", model.config().num_heads},
                      {"intermediate", model.config().intermediate_size},
                      {"parameters", model.parameter_count()}};
  const training::TrainingOutcome& outcome = run.outcome;
  summary["training"] = {{"steps", outcome.steps_done},
                         {"epochs", static_cast<double>(outcome.steps_done * spec.batch_size) /
                                        static_cast<double>(run.examples)},
                         {"batch_size", spec.batch_size},
                         {"lr", spec.learning_rate},
                         {"warmup", spec.warmup()},
                         {"precision", spec.precision},
                         {"threads", threads},
                         {"seed", spec.seed},
                         {"train_examples", data.train.size()},
                         {"train_s", outcome.train_s},
                         {"first_loss", outcome.losses.empty() ? 0.0 : outcome.losses.front()},
                         {"final_loss", outcome.losses.empty() ? 0.0 : outcome.losses.back()}};
  nlohmann::json validations = nlohmann::json::array();
  for (const auto& record : outcome.validations)
    validations.push_back({{"step", record.step}, {"metrics", record.metrics}});
  summary["validation"] = {{"decoder", run.validation_name}, {"problems", run.validation_problems}, {"history", validations}};

  nlohmann::ordered_json evaluations = nlohmann::ordered_json::array();
  if (!parser.get_switch("no-eval")) {
    std::vector<runner::DecoderSpec> choices;
    if (!spec.diffusion()) {
      choices.push_back(ar_greedy());
    } else if (spec.block_length) {
      // One token per forward, then Fast-dLLM's threshold commits at two thresholds.
      choices.push_back(runner::block_diffusion_spec(*spec.block_length, *spec.block_length));
      for (double threshold : {0.9, 0.7}) choices.push_back(runner::block_threshold_spec(*spec.block_length, threshold));
    } else {
      std::vector<int64_t> steps = parser.given("eval-steps") ? parser.get_int_list("eval-steps")
                                                              : std::vector<int64_t>{4, 8, run.gen_length};
      for (int64_t count : steps) {
        check(count > 0, "--eval-steps: step counts must be positive");
        choices.push_back(runner::remasking_spec(count));
        choices.push_back(runner::dream_entropy_spec(count));
      }
      choices.push_back(runner::study_remasking_spec());
    }
    for (const auto& choice : choices) {
      nlohmann::ordered_json scores = evaluate(model, choice, data.kind, data.validation, data.metrics, run.gen_length,
                                               parser.get_int("eval-batch"));
      std::cerr << "eval " << scores.dump() << "\n";
      evaluations.push_back(scores);
    }
  }
  summary["evaluation"] = evaluations;
  write_file_atomically((fs::path(out_dir) / "training_summary.json").string(), summary.dump(2) + "\n");
  std::cout << summary.dump(2) << "\n";
}

}  // namespace

int run_train(const Args& args) {
  const task_training::TaskTrainingSpec defaults;
  auto text = [](auto value) {
    std::ostringstream out;
    out << value;
    return out.str();
  };
  ArgParser parser(
      "stepwise train --task sudoku|countdown|pathstar --objective ar|diffusion|mgdm --out DIR [--preset tiny|small]\n"
      "                      [--steps N] [--batch-size B] [--lr LR] [--seed S] [--init-from DIR] [--threads N] ...",
      "Train a model from scratch on generated task problems (source [SEP] target [EOS], character\n"
      "vocabulary). Training and validation problems come from different seeds and never overlap. The\n"
      "run resumes from DIR/training_state.safetensors when present (Ctrl-C saves and stops cleanly).\n"
      "At the end the held-out set is decoded (AR greedy, or the remasking and Dream-entropy diffusion\n"
      "decoders at every --eval-steps count, and the study's stochastic remasking setting) and scored;\n"
      "everything goes to DIR/training_summary.json. --objective mgdm is the study's MGDM: the paper form\n"
      "with linear time weight T-t and token reweighting alpha*(1-exp(-l))^gamma*l (alpha 0.25; gamma 2\n"
      "for countdown, 1 otherwise). Every setting has the default of an experiment's train: block.");
  parser.add_option("task", "TASK", "sudoku | countdown | pathstar");
  parser.add_option("objective", "KIND", "ar | diffusion | mgdm (the study's MGDM preset)");
  parser.add_option("out", "DIR", "output directory: checkpoint, training state, summary");
  parser.add_option("preset", "NAME", "model shape: tiny (3x384, 12 heads, ~5.3M) | small (4x128, 4 heads, ~0.8M) | "
                    "custom (give --layers, --hidden, --heads)", defaults.preset);
  parser.add_option("layout", "NAME", "qwen2 (q/k/v bias) | llama (no bias)", defaults.layout);
  for (const char* key : {"layers", "hidden", "heads", "kv-heads", "intermediate"})
    parser.add_option(key, "N", std::string("override the preset's ") + key);
  parser.add_option("init-from", "DIR", "start from this checkpoint (an AR one becomes a Dream-style diffusion model)");
  parser.add_option("steps", "N", "optimizer steps", text(defaults.steps));
  parser.add_option("epochs", "E", "train for ceil(E * --train-size / batch size) steps instead of --steps");
  parser.add_option("batch-size", "B", "examples per step", text(defaults.batch_size));
  parser.add_option("lr", "LR", "peak learning rate", text(defaults.learning_rate));
  parser.add_option("warmup", "N", "linear warm-up steps (default: min(100, steps / 10))");
  parser.add_option("min-lr-ratio", "R", "final learning rate of the cosine as a fraction of the peak",
                    text(defaults.min_lr_ratio));
  parser.add_option("weight-decay", "W", "AdamW weight decay on matrices", text(defaults.weight_decay));
  parser.add_option("clip-norm", "C", "global gradient-norm clip (0 = off)", text(defaults.grad_clip));
  parser.add_option("precision", "P",
                    "auto | float32 | bfloat16 | mixed-bf16 (float32 master weights, bf16 compute); auto: "
                    "mixed-bf16 on a CPU with AVX512-BF16, float32 elsewhere",
                    "auto");
  parser.add_option("seed", "S", "initialisation, batch order and diffusion noise", text(defaults.seed));
  parser.add_option("threads", "N", "torch intra-op threads, 0 to 4 per core (0 = $STEPWISE_THREADS or all cores)", "0");
  parser.add_option("sudoku-size", "N", "sudoku: 4 or 9", "4");
  parser.add_option("givens", "K", "sudoku: filled cells (default 10 for 4x4, 30 for 9x9)");
  parser.add_option("countdown-numbers", "N", "countdown: start numbers, 3, 4 or 5", "3");
  parser.add_option("degree", "D", "pathstar: arms of the star, 2-10", "3");
  parser.add_option("length", "L", "pathstar: nodes per arm (center excluded), 1-20", "4");
  parser.add_option("nodes", "N", "pathstar: node labels 0..N-1, at least 1 + D*L, at most 1000", "20");
  parser.add_option("train-size", "N", "generated training problems", text(defaults.train_examples));
  parser.add_option("val-size", "N", "held-out problems (validation and final evaluation)", "500");
  parser.add_option("data-seed", "S", "training data seed; held-out problems use S+1", text(defaults.data_seed));
  parser.add_option("diffusion-form", "FORM", "paper (t ~ U{0..T-1}, rate (t+1)/T) | llada (t ~ U(eps,1], 1/t)",
                    defaults.diffusion_form);
  parser.add_option("timesteps", "T", "T of the paper form", text(defaults.timesteps));
  parser.add_option("weighting", "W", "time weight: none | inverse-rate | linear (default: the objective's own)");
  parser.add_option("token-alpha", "A", "token reweighting alpha*(1-exp(-l))^gamma*l: alpha (mgdm: 0.25)");
  parser.add_option("token-gamma", "G", "token reweighting: gamma (mgdm: 2 for countdown, 1 otherwise)");
  parser.add_switch("no-shift", "diffusion: read logits in place (LLaDA) instead of Dream's shift");
  parser.add_option("block-length", "N",
                    "diffusion: block diffusion over blocks of N positions (block-causal attention, masks inside "
                    "one block, complementary masks); with --init-from an AR checkpoint, Fast-dLLM v2's recipe");
  parser.add_option("validate-every", "K", "decode the validation subset every K steps (default: a quarter of the "
                    "steps; 0 = only at the end)");
  parser.add_option("validation-subset", "N", "problems decoded at each validation", text(defaults.validation_examples));
  parser.add_switch("teacher-forced", "validate with teacher-forced accuracy instead of a real decoder");
  parser.add_option("validation-decoder", "NAME",
                    "entropy (Dream, one step per token) | remasking (the study's T=20, noise 0.5; diffusion) | "
                    "teacher-forced", defaults.validation_decoder);
  parser.add_option("save-every", "K", "write the training state every K steps", text(defaults.checkpoint_every));
  parser.add_option("eval-steps", "LIST", "diffusion step counts of the final evaluation (default: 4,8,T_gen)");
  parser.add_option("eval-batch", "N", "problems per decode call in the final evaluation", "100");
  parser.add_switch("no-eval", "skip the final evaluation");
  parser.add_switch("quiet", "no progress bar");
  parser.add_option("nproc", "N",
                    "data-parallel training over N processes on this machine (c10d Gloo), each on its slice of\n"
                    "every batch; under torchrun's RANK/WORLD_SIZE or a Slurm step's SLURM_PROCID/SLURM_NTASKS the\n"
                    "process is one rank instead (docs/cluster.md)",
                    "1");
  parser.add_option("dist-timeout", "S", "data-parallel: seconds to wait for the other ranks", "120");
  parser.add_option("backend", "NAME", "data-parallel: the c10d backend, gloo (CPU; nccl needs a CUDA LibTorch, "
                    "which this build is not)", "gloo");
  if (!parser.parse(args)) return 0;
  training::check_backend(parser.get("backend"));
  const int64_t nproc = parser.get_int("nproc");
  const int64_t dist_timeout = parser.get_int("dist-timeout");
  check(nproc >= 1 && nproc <= 256, "--nproc must lie in 1..256, got ", nproc);
  check(dist_timeout >= 1 && dist_timeout <= 86400, "--dist-timeout must lie in 1..86400, got ", dist_timeout);
  const std::optional<training::RankEnvironment> rank = training::rank_environment(training::process_environment());
  if (!rank && nproc > 1) {
    std::vector<std::string> command{"stepwise", "train"};
    command.insert(command.end(), args.begin(), args.end());
    return training::run_local_ranks(nproc, command, dist_timeout);
  }
  if (rank && parser.given("nproc"))
    check(rank->world_size == nproc, "--nproc ", nproc, " differs from the world size ", rank->world_size, " of the ",
          rank->source);
  std::shared_ptr<training::DataParallelGroup> group;
  if (rank) group = training::connect_gloo_group(*rank, dist_timeout);
  const bool lead = !rank || rank->rank == 0;  // the rank that reports, evaluates and writes the summary

  const int threads = configure_threads(parser.get_int("threads"));
  const task_training::TaskTrainingSpec spec = spec_from_flags(parser);
  const TaskData data = make_task_data(parser, spec.data_seed, spec.train_examples);
  const std::string out_dir = parser.get("out");
  const std::string identity = nlohmann::json{{"task", data.label},
                                              {"data_seed", spec.data_seed},
                                              {"train_size", spec.train_examples},
                                              {"val_size", parser.get_int("val-size")},
                                              {"init_from", spec.init_from.value_or("")}}
                                   .dump();
  if (lead)
    std::cerr << "train " << data.label << " " << spec.objective << ": " << data.train.size() << " training / "
              << data.validation.size() << " held-out problems, " << spec.precision << ", " << threads << " threads"
              << (rank ? ", " + std::to_string(rank->world_size) + " data-parallel ranks" : std::string()) << "\n";
  const task_training::TaskTrainingRun run = task_training::train_task_model(
      spec, to_training_data(data), out_dir, load_init_from(spec), identity, lead && !parser.get_switch("quiet"), group);
  if (!lead) return run.completed() ? 0 : 130;
  if (!run.completed()) {
    std::cerr << "stopped at step " << run.outcome.steps_done << " of " << spec.total_steps()
              << "; state saved, run the same command to resume\n";
    return 130;
  }
  write_summary(parser, spec, data, run, threads, out_dir);
  return 0;
}

}  // namespace stepwise::cli
