// Batch decoding of one run with journaling and progress.
#include "experiments/runner/run_executor.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "core/error.h"
#include "core/gguf_file.h"
#include "experiments/terminal/progress.h"
#include "core/timing.h"
#include "decoders/request_order.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/tasks/scoring.h"
#include "experiments/training/stop_signal.h"
#include "models/quantization/gptq_checkpoint.h"

namespace stepwise::runner {

uint64_t example_seed(uint64_t run_seed, int64_t index) {
  // splitmix64 of the pair: well spread, stable across platforms.
  uint64_t z = run_seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index) + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool execute_run(const RunSpec& run, Decoder& decoder, const RunContext& context, RunJournal& journal,
                 const std::string& progress_label) {
  const auto& records = context.data.evaluation;
  const size_t total = records.size();
  std::vector<std::vector<int64_t>> prompt_ids;  // per example, what the decoder is given
  prompt_ids.reserve(total);
  for (const auto& prompt : context.prompts.prompts()) prompt_ids.push_back(prompt.ids);
  std::vector<size_t> pending;  // examples still to decode, in arrival (index) order
  for (size_t i = 0; i < total; ++i)
    if (!journal.contains(static_cast<int64_t>(i))) pending.push_back(i);

  int64_t correct = 0;
  for (const auto& example : journal.examples()) correct += example.correct ? 1 : 0;
  int64_t done = static_cast<int64_t>(total - pending.size());
  ProgressBar progress(progress_label, static_cast<int64_t>(total));
  auto status = [&] {
    char text[64];
    std::snprintf(text, sizeof text, "acc %.1f%%", done > 0 ? 100.0 * correct / done : 0.0);
    return std::string(text);
  };
  progress.update(done, status());

  const int64_t gen_length = run.decoder.gen_length.value_or(context.prompts.gen_length());
  // Speculative decoding verifies one sequence at a time.
  const size_t batch_size =
      decodes_one_sequence_at_a_time(run.decoder) ? 1 : static_cast<size_t>(context.spec.batch_size);
  // Every pending example is taken as arriving when this execution starts; times to first token count from here.
  const Stopwatch since_arrival;
  while (!pending.empty()) {
    if (training::stop_requested()) return false;
    const std::vector<size_t> batch = next_batch(run.decoder.request_order, decoder, prompt_ids, pending, batch_size);
    TORCH_INTERNAL_ASSERT(!batch.empty(), "next_batch chose nothing from ", pending.size(), " pending examples");
    DecodeRequest request;
    request.max_new_tokens = gen_length;
    request.record_trace = context.spec.record_traces;
    for (size_t index : batch) {
      request.prompts.push_back(prompt_ids[index]);
      request.seeds.push_back(example_seed(run.seed, static_cast<int64_t>(index)));
    }
    const double batch_start_s = since_arrival.seconds();
    DecodeResult result = decoder.decode(request);
    const double rows = static_cast<double>(batch.size());
    std::vector<ExampleRecord> finished;
    for (size_t row = 0; row < batch.size(); ++row) {
      const size_t index = batch[row];
      const auto& record = records[index];
      ExampleRecord example;
      example.index = static_cast<int64_t>(index);
      example.prompt = context.prompts.prompts()[index].text;
      example.reference = record.output;
      example.prediction = context.prompts.prediction(index, result.tokens[row]);
      example.correct = tasks::score_prediction(context.spec.task.metric, record, example.prediction);
      // Batch costs are shared equally by the batch's rows; NFE is per decode call, which every row saw.
      example.forward_calls = result.stats.forward_calls;
      example.generated_tokens = static_cast<int64_t>(result.tokens[row].size());
      example.wall_s = result.stats.wall_s / rows;
      example.first_token_s = result.stats.first_token_s;
      example.ttft_s = batch_start_s + result.stats.first_token_s;
      if (context.spec.record_traces && row < result.commit_step.size()) example.commit_step = result.commit_step[row];
      correct += example.correct ? 1 : 0;
      finished.push_back(std::move(example));
    }
    journal.append(finished);
    // The rest stays in arrival order.
    const std::set<size_t> chosen(batch.begin(), batch.end());
    pending.erase(std::remove_if(pending.begin(), pending.end(), [&](size_t index) { return chosen.count(index) > 0; }),
                  pending.end());
    done += static_cast<int64_t>(finished.size());
    progress.update(done, status());
  }
  progress.finish(status());
  journal.mark_complete();
  return true;
}

std::string journal_problem(const RunJournal& journal, const TaskData& data, tasks::Metric metric) {
  if (!journal.problem().empty()) return journal.problem();
  const auto& records = data.evaluation;
  const int64_t total = static_cast<int64_t>(records.size());
  for (const auto& example : journal.examples()) {
    const std::string at = "example " + std::to_string(example.index);
    if (example.index < 0 || example.index >= total)
      return "example index " + std::to_string(example.index) + " is outside the run's " + std::to_string(total) +
             " examples";
    const auto& record = records[static_cast<size_t>(example.index)];
    if (example.reference != record.output) return at + ": its reference is not the task's";
    const bool rescored = tasks::score_prediction(metric, record, example.prediction);
    if (rescored != example.correct)
      return at + ": journaled as correct=" + (example.correct ? "true" : "false") + " but its prediction scores as " +
             (rescored ? "correct" : "wrong") + " under " + tasks::metric_name(metric);
  }
  if (journal.complete() && static_cast<int64_t>(journal.examples().size()) != total)
    return "marked complete with " + std::to_string(journal.examples().size()) + " of the run's " +
           std::to_string(total) + " examples";
  return "";
}

std::unique_ptr<RunJournal> open_checked_journal(const std::string& path, const RunSpec& run, const TaskData& data,
                                                 tasks::Metric metric) {
  auto journal = std::make_unique<RunJournal>(path, run.run_id);
  const std::string problem = journal_problem(*journal, data, metric);
  if (problem.empty()) return journal;
  journal.reset();  // unlocks the file before it is moved
  std::string aside = path + ".rejected";
  for (int n = 2; std::filesystem::exists(std::filesystem::symlink_status(aside)); ++n)
    aside = path + ".rejected-" + std::to_string(n);
  std::error_code error;
  std::filesystem::rename(path, aside, error);
  check(!error, path, ": not trusted (", problem, ") and cannot be moved aside (", error.message(), ")");
  std::cerr << "warning: run journal " << path << ": not trusted: " << problem << "; set aside as " << aside
            << ", redoing the run\n";
  return std::make_unique<RunJournal>(path, run.run_id);
}

RunRecord run_record_of(const RunSpec& run, const ExperimentSpec& spec, const RunJournal& journal) {
  RunRecord record;
  record.run_id = run.run_id;
  record.name = run.label();
  record.decoder_type = run.decoder.type();
  record.model = run.decoder.model;
  record.task = spec.task.label();
  record.metric = tasks::metric_name(spec.task.metric);
  record.settings = run.decoder.describe();
  record.settings["seed"] = std::to_string(run.seed);
  // The weights' quantization (a quantize: block, or a quantized checkpoint named by path), so one table
  // compares bits and methods.
  const ModelSpec& model = spec.models.at(run.decoder.model);
  if (model.quantize) {
    record.settings["quantization"] = model.quantize->label();
  } else if (model.path && !is_gguf_path(*model.path) && is_quantized_checkpoint(*model.path)) {
    const QuantizationConfig q = load_quantization_config(*model.path);
    record.settings["quantization"] = "w" + std::to_string(q.scheme.bits) + "g" + std::to_string(q.scheme.group_size) +
                                      (q.scheme.symmetric ? "-sym-" : "-asym-") + q.method;
  }
  record.examples = journal.examples();
  std::sort(record.examples.begin(), record.examples.end(),
            [](const ExampleRecord& a, const ExampleRecord& b) { return a.index < b.index; });
  return record;
}

}  // namespace stepwise::runner
