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
#include <set>

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
#include "experiments/training/plain_task_training.h"
#include "models/checkpoint.h"
#include "experiments/training/diffusion_init.h"
#include "experiments/training/model_presets.h"
#include "experiments/training/trainer.h"
#include "experiments/training/validation.h"

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

TaskData make_task_data(const ArgParser& parser) {
  TaskData data;
  data.kind = tasks::parse_task_kind(parser.get("task"));
  const int64_t train_size = parser.get_int("train-size"), val_size = parser.get_int("val-size");
  check(train_size > 0 && val_size > 0, "--train-size and --val-size must be positive");
  const int64_t data_seed = parser.get_int("data-seed");
  check(data_seed >= 0, "--data-seed must not be negative");
  // Validation and training come from different seeds; training drops any problem also in validation.
  data.validation = generate(parser, data.kind, val_size, static_cast<uint64_t>(data_seed) + 1, true);
  std::set<std::string> held_out;
  for (const auto& record : data.validation) held_out.insert(record.input);
  for (const auto& record : generate(parser, data.kind, train_size, static_cast<uint64_t>(data_seed), false))
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

training::ObjectiveOptions objective_from(const ArgParser& parser) {
  const std::string name = parser.get("objective");
  check(name == "ar" || name == "diffusion" || name == "mgdm", "--objective: expected ar, diffusion or mgdm, got '",
        name, "'");
  const tasks::TaskKind task = tasks::parse_task_kind(parser.get("task"));
  training::ObjectiveOptions objective = task_training::plain_objective(
      name, task, parser.get("diffusion-form"), parser.get_int("timesteps"), !parser.get_switch("no-shift"));
  if (name == "ar")
    for (const char* flag : {"weighting", "token-alpha", "token-gamma", "validation-decoder", "block-length"})
      check(!parser.given(flag), "--", flag, " applies to the diffusion objectives only");
  if (parser.given("weighting"))
    objective.diffusion.weighting = training::parse_loss_weighting(parser.get("weighting"));
  if (parser.given("token-alpha") || parser.given("token-gamma")) {
    training::TokenReweighting reweighting = objective.diffusion.token_reweighting.value_or(
        training::TokenReweighting{training::kMgdmAlpha, task_training::mgdm_gamma_for(task)});
    if (parser.given("token-alpha")) reweighting.alpha = parser.get_double("token-alpha");
    if (parser.given("token-gamma")) reweighting.gamma = parser.get_double("token-gamma");
    objective.diffusion.token_reweighting = reweighting;
  }
  if (parser.given("block-length")) {  // Fast-dLLM v2's recipe: block-causal attention, complementary masks
    objective.diffusion.block_length = parser.get_int("block-length");
    objective.diffusion.complementary_masks = true;
  }
  training::validate_diffusion_options(objective.diffusion);
  return objective;
}

// A fresh model of the preset, or the --init-from checkpoint (turned into a diffusion model when the
// objective is diffusion and the checkpoint is causal: Dream's AR -> diffusion recipe).
std::shared_ptr<Transformer> initial_model(const ArgParser& parser, const training::ObjectiveOptions& objective,
                                           torch::ScalarType dtype, uint64_t seed) {
  const bool diffusion = objective.kind == training::ObjectiveKind::kDiffusion;
  const training::DiffusionConversion conversion{CharTokenizer::kMask, objective.diffusion.shift_logits,
                                                 objective.diffusion.block_length};
  if (auto from = parser.get_optional("init-from")) {
    auto loaded = load_checkpoint(*from, LoadOptions{dtype, torch::kCPU});
    check(loaded->config().vocab_size == CharTokenizer().vocab_size(), "--init-from ", *from, ": vocabulary of ",
          loaded->config().vocab_size, ", the character tokenizer has ", CharTokenizer().vocab_size());
    if (!diffusion) {
      check(!loaded->config().bidirectional, "--init-from ", *from,
            " is a diffusion model; AR training needs a causal one");
      return loaded;
    }
    return training::diffusion_model_from(*loaded, conversion);
  }
  training::PresetRequest request;
  request.preset = parser.get("preset");
  request.layout = parser.get("layout");
  request.vocab_size = CharTokenizer().vocab_size();
  TransformerConfig config = training::model_preset(request);
  if (diffusion) config = training::diffusion_config(config, conversion);
  return random_transformer(config, seed, LoadOptions{dtype, torch::kCPU});
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

}  // namespace

int run_train(const Args& args) {
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
      "for countdown, 1 otherwise).");
  parser.add_option("task", "TASK", "sudoku | countdown | pathstar");
  parser.add_option("objective", "KIND", "ar | diffusion | mgdm (the study's MGDM preset)");
  parser.add_option("out", "DIR", "output directory: checkpoint, training state, summary");
  parser.add_option("preset", "NAME", "model shape: tiny (3x384, 12 heads, ~5.3M) | small (4x128, 4 heads, ~0.8M)",
                    "small");
  parser.add_option("layout", "NAME", "qwen2 (q/k/v bias) | llama (no bias)", "qwen2");
  parser.add_option("init-from", "DIR", "start from this checkpoint (an AR one becomes a Dream-style diffusion model)");
  parser.add_option("steps", "N", "optimizer steps", "2000");
  parser.add_option("epochs", "E", "train for ceil(E * training problems / batch size) steps instead of --steps");
  parser.add_option("batch-size", "B", "examples per step", "64");
  parser.add_option("lr", "LR", "peak learning rate", "1e-3");
  parser.add_option("warmup", "N", "linear warm-up steps", "100");
  parser.add_option("min-lr-ratio", "R", "final learning rate of the cosine as a fraction of the peak", "0.1");
  parser.add_option("weight-decay", "W", "AdamW weight decay on matrices", "0.01");
  parser.add_option("clip-norm", "C", "global gradient-norm clip (0 = off)", "1.0");
  parser.add_option("precision", "P", "float32 | bfloat16 | mixed-bf16 (float32 master weights)", "float32");
  parser.add_option("seed", "S", "initialisation, batch order and diffusion noise", "0");
  parser.add_option("threads", "N", "torch intra-op threads, 0 to 4 per core (0 = $STEPWISE_THREADS or all cores)", "0");
  parser.add_option("sudoku-size", "N", "sudoku: 4 or 9", "4");
  parser.add_option("givens", "K", "sudoku: filled cells (default 10 for 4x4, 30 for 9x9)");
  parser.add_option("countdown-numbers", "N", "countdown: start numbers, 3, 4 or 5", "3");
  parser.add_option("degree", "D", "pathstar: arms of the star, 2-10", "3");
  parser.add_option("length", "L", "pathstar: nodes per arm (center excluded), 1-20", "4");
  parser.add_option("nodes", "N", "pathstar: node labels 0..N-1, at least 1 + D*L, at most 1000", "20");
  parser.add_option("train-size", "N", "generated training problems", "20000");
  parser.add_option("val-size", "N", "held-out problems (validation and final evaluation)", "500");
  parser.add_option("data-seed", "S", "training data seed; validation uses S+1", "1234");
  parser.add_option("diffusion-form", "FORM", "paper (t ~ U{0..T-1}, rate (t+1)/T) | llada (t ~ U(eps,1], 1/t)",
                    "paper");
  parser.add_option("timesteps", "T", "T of the paper form", "20");
  parser.add_option("weighting", "W", "time weight: none | inverse-rate | linear (default: the objective's own)");
  parser.add_option("token-alpha", "A", "token reweighting alpha*(1-exp(-l))^gamma*l: alpha (mgdm: 0.25)");
  parser.add_option("token-gamma", "G", "token reweighting: gamma (mgdm: 2 for countdown, 1 otherwise)");
  parser.add_switch("no-shift", "diffusion: read logits in place (LLaDA) instead of Dream's shift");
  parser.add_option("block-length", "N",
                    "diffusion: block diffusion over blocks of N positions (block-causal attention, masks inside "
                    "one block, complementary masks); with --init-from an AR checkpoint, Fast-dLLM v2's recipe");
  parser.add_option("validate-every", "K", "decode the validation subset every K steps (0 = only at the end)", "250");
  parser.add_option("validation-subset", "N", "problems decoded at each validation", "64");
  parser.add_switch("teacher-forced", "validate with teacher-forced accuracy instead of a real decoder");
  parser.add_option("validation-decoder", "NAME",
                    "diffusion validation: entropy (Dream, one step per token) | remasking (the study's T=20, noise 0.5)",
                    "entropy");
  parser.add_option("save-every", "K", "write the training state every K steps", "200");
  parser.add_option("eval-steps", "LIST", "diffusion step counts of the final evaluation (default: 4,8,T_gen)");
  parser.add_option("eval-batch", "N", "problems per decode call in the final evaluation", "100");
  parser.add_switch("no-eval", "skip the final evaluation");
  parser.add_switch("quiet", "no progress bar");
  if (!parser.parse(args)) return 0;

  const int threads = configure_threads(parser.get_int("threads"));
  const training::ObjectiveOptions objective = objective_from(parser);
  const bool diffusion = objective.kind == training::ObjectiveKind::kDiffusion;
  const training::TrainingPrecision precision = training::parse_training_precision(parser.get("precision"));
  const torch::ScalarType dtype =
      precision == training::TrainingPrecision::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  const int64_t seed = parser.get_int("seed");
  check(seed >= 0, "--seed must not be negative");
  const std::string validation_name = parser.get("validation-decoder");
  check(validation_name == "entropy" || validation_name == "remasking",
        "--validation-decoder: expected entropy or remasking, got '", validation_name, "'");
  check(!(parser.given("epochs") && parser.given("steps")), "give --steps or --epochs, not both");
  const std::string out_dir = parser.get("out");

  TaskData data = make_task_data(parser);
  std::vector<training::TrainingExample> examples = task_training::encode_examples(data.train);
  const int64_t gen_length = std::max(training::max_target_length(examples),
                                      training::max_target_length(task_training::encode_examples(data.validation)));
  // Diffusion canvases have a fixed length: targets are filled with [EOS] up to the longest one, so the
  // model learns to end the answer and fill the rest of the canvas.
  if (diffusion) examples = training::pad_targets(std::move(examples), gen_length, CharTokenizer::kEos);

  std::shared_ptr<Transformer> model = initial_model(parser, objective, dtype, static_cast<uint64_t>(seed));
  training::TrainerOptions options;
  options.objective = objective;
  options.steps = parser.get_int("steps");
  if (parser.given("epochs")) {
    const double epochs = parser.get_double("epochs");
    check(std::isfinite(epochs) && epochs > 0 && epochs <= 1e6, "--epochs must lie in (0, 1e6], got ", epochs);
    const int64_t batch = parser.get_int("batch-size");
    check(batch > 0, "--batch-size must be positive, got ", batch);
    options.steps = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil(epochs * static_cast<double>(examples.size()) / static_cast<double>(batch))));
  }
  options.batch_size = parser.get_int("batch-size");
  options.seed = static_cast<uint64_t>(seed);
  options.lr = parser.get_double("lr");
  options.warmup_steps = std::min(parser.get_int("warmup"), options.steps);
  options.min_lr_ratio = parser.get_double("min-lr-ratio");
  options.weight_decay = parser.get_double("weight-decay");
  const double clip = parser.get_double("clip-norm");
  options.clip_norm = clip > 0 ? std::optional<double>(clip) : std::nullopt;
  options.precision = precision;
  options.pad_id = CharTokenizer::kPad;
  options.out_dir = out_dir;
  options.save_every = parser.get_int("save-every");
  options.validate_every = parser.get_int("validate-every");
  options.show_progress = !parser.get_switch("quiet");
  options.run_identity = nlohmann::json{{"task", data.label},
                                        {"data_seed", parser.get_int("data-seed")},
                                        {"train_size", parser.get_int("train-size")},
                                        {"val_size", parser.get_int("val-size")},
                                        {"init_from", parser.get_optional("init-from").value_or("")}}
                             .dump();

  const int64_t subset_size = std::min<int64_t>(parser.get_int("validation-subset"), data.validation.size());
  std::vector<TaskRecord> subset(data.validation.begin(), data.validation.begin() + subset_size);
  // Dream's entropy ordering with one step per generated token: the remasking decoder, which re-predicts
  // every position each step, can stay at 0 % while the model already solves problems this way.
  // --validation-decoder remasking switches to the study's own evaluation setting.
  const std::optional<int64_t> block_length = objective.diffusion.block_length;
  const runner::DecoderSpec validation_decoder = !diffusion     ? ar_greedy()
                                                 : block_length ? runner::block_diffusion_spec(*block_length, *block_length)
                                                 : validation_name == "remasking"
                                                     ? runner::study_remasking_spec()
                                                     : runner::dream_entropy_spec(gen_length);
  if (parser.get_switch("teacher-forced")) {
    std::vector<training::TrainingExample> held_out = task_training::encode_examples(subset);
    if (diffusion) held_out = training::pad_targets(std::move(held_out), gen_length, CharTokenizer::kEos);
    options.validate =
        training::make_teacher_forced_validation(std::move(held_out), objective, 64, CharTokenizer::kPad);
  } else {
    options.validate = [&](const Transformer& trained, int64_t) {
      nlohmann::ordered_json scores =
          evaluate(trained, validation_decoder, data.kind, subset, {data.metrics[0]}, gen_length, 64);
      return training::ValidationMetrics{
          {tasks::metric_name(data.metrics[0]), scores[tasks::metric_name(data.metrics[0])].get<double>()}};
    };
  }

  std::cerr << "train " << data.label << " " << training::objective_kind_name(objective.kind) << ": "
            << data.train.size() << " training / " << data.validation.size() << " held-out problems, "
            << model->parameter_count() << " parameters, " << training::training_precision_name(precision) << ", "
            << threads << " threads\n";
  const training::TrainingOutcome outcome = training::train_model(*model, examples, options);
  if (outcome.stopped_early) {
    std::cerr << "stopped at step " << outcome.steps_done << " of " << options.steps
              << "; state saved, run the same command to resume\n";
    return 130;
  }

  nlohmann::ordered_json summary;
  summary["task"] = data.label;
  summary["objective"] = parser.get("objective");
  if (diffusion) {
    summary["diffusion"] = {{"schedule", training::noise_schedule_name(objective.diffusion.schedule)},
                            {"timesteps", objective.diffusion.timesteps},
                            {"weighting", training::loss_weighting_name(objective.diffusion.weighting)},
                            {"normalization", training::loss_normalization_name(objective.diffusion.normalization)},
                            {"shift_logits", objective.diffusion.shift_logits}};
    if (block_length) summary["diffusion"]["block_length"] = *block_length;
    if (objective.diffusion.token_reweighting)
      summary["diffusion"]["token_reweighting"] = {{"alpha", objective.diffusion.token_reweighting->alpha},
                                                   {"gamma", objective.diffusion.token_reweighting->gamma}};
  }
  summary["model"] = {{"preset", parser.get("preset")},
                      {"init_from", parser.get_optional("init-from").value_or("")},
                      {"model_type", model->config().model_type},
                      {"layers", model->config().num_layers},
                      {"hidden", model->config().hidden_size},
                      {"heads", model->config().num_heads},
                      {"intermediate", model->config().intermediate_size},
                      {"parameters", model->parameter_count()}};
  summary["training"] = {{"steps", outcome.steps_done},
                         {"epochs", static_cast<double>(outcome.steps_done * options.batch_size) /
                                        static_cast<double>(examples.size())},
                         {"batch_size", options.batch_size},
                         {"lr", options.lr},
                         {"warmup", options.warmup_steps},
                         {"precision", training::training_precision_name(precision)},
                         {"threads", threads},
                         {"seed", seed},
                         {"train_examples", data.train.size()},
                         {"train_s", outcome.train_s},
                         {"first_loss", outcome.losses.empty() ? 0.0 : outcome.losses.front()},
                         {"final_loss", outcome.losses.empty() ? 0.0 : outcome.losses.back()}};
  nlohmann::json validations = nlohmann::json::array();
  for (const auto& record : outcome.validations)
    validations.push_back({{"step", record.step}, {"metrics", record.metrics}});
  summary["validation"] = {
      {"decoder", parser.get_switch("teacher-forced") ? "teacher-forced" : validation_decoder.name},
      {"problems", subset_size},
      {"history", validations}};

  nlohmann::ordered_json evaluations = nlohmann::ordered_json::array();
  if (!parser.get_switch("no-eval")) {
    std::vector<runner::DecoderSpec> choices;
    if (!diffusion) {
      choices.push_back(ar_greedy());
    } else if (block_length) {
      // One token per forward, then Fast-dLLM's threshold commits at two thresholds.
      choices.push_back(runner::block_diffusion_spec(*block_length, *block_length));
      for (double threshold : {0.9, 0.7}) choices.push_back(runner::block_threshold_spec(*block_length, threshold));
    } else {
      std::vector<int64_t> steps =
          parser.given("eval-steps") ? parser.get_int_list("eval-steps") : std::vector<int64_t>{4, 8, gen_length};
      for (int64_t count : steps) {
        check(count > 0, "--eval-steps: step counts must be positive");
        choices.push_back(runner::remasking_spec(count));
        choices.push_back(runner::dream_entropy_spec(count));
      }
      choices.push_back(runner::study_remasking_spec());
    }
    for (const auto& choice : choices) {
      nlohmann::ordered_json scores =
          evaluate(*model, choice, data.kind, data.validation, data.metrics, gen_length, parser.get_int("eval-batch"));
      std::cerr << "eval " << scores.dump() << "\n";
      evaluations.push_back(scores);
    }
  }
  summary["evaluation"] = evaluations;
  write_file_atomically((fs::path(out_dir) / "training_summary.json").string(), summary.dump(2) + "\n");
  std::cout << summary.dump(2) << "\n";
  return 0;
}

}  // namespace stepwise::cli
