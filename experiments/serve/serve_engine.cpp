// The serving engine: request validation against the model, the decoder table, the queue and the worker.
#include "experiments/serve/serve_engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/prefix_store/prefix_store.h"
#include "core/tensor/runtime.h"
#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/model_chat_template.h"
#include "decoders/ar_decoder.h"
#include "decoders/prefix_reuse.h"
#include "decoders/running_batch.h"
#include "experiments/cli/decoder_flags.h"
#include "experiments/cli/text_prompt.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/runner/decoder_keys.h"
#include "experiments/serve/serve_config.h"
#include "experiments/serve/serve_metrics.h"
#include "experiments/serve/stream_text.h"
#include "models/checkpoint.h"
#include "models/model_identity.h"
#include "models/transformer.h"

namespace stepwise::serve {
namespace {

using Clock = std::chrono::steady_clock;

// Distinct decoder settings a server builds and keeps (each holds a decoder, a speculative one its draft).
constexpr int64_t kMaxDecoderSettings = 32;

// A model the server has loaded, with its tokenizer and chat template (for a model some decoder serves)
// and its view of the prefix store.
struct ServedModel {
  std::string path;
  std::shared_ptr<const Transformer> model;
  std::unique_ptr<BpeTokenizer> tokenizer;          // null for a model only used as a draft
  std::unique_ptr<ModelChatTemplate> chat_template;  // likewise
  std::shared_ptr<PrefixReuse> reuse;               // bound to `model`; null without --prefix-cache
};

// One decoder setting the server has built, shared by every request that uses it.
struct DecoderEntry {
  std::string key;  // what it was built from (the decoder arguments, or a config decoder with settings)
  const ServedModel* served = nullptr;  // the model it decodes
  std::unique_ptr<Decoder> decoder;
  std::string type;
  bool one_sequence_at_a_time = false;
  bool continuous = false;  // AR with a cache, or speculative: its requests join a running batch
  std::optional<int64_t> gen_length;
  std::set<int64_t> stop_ids;  // finish_reason "stop" when a choice holds one
};

// What the worker hands back for one request.
struct JobResult {
  std::vector<std::vector<int64_t>> tokens;       // per choice
  std::vector<std::vector<int64_t>> commit_step;  // per choice, empty when the decoder does not track it
  double ttft_s = 0.0;
  double total_s = 0.0;
  int64_t batch_rows = 0;
};

// Stop reasons and text of a finished job's choices (stream_text), and its counters.
CompletionOutput output_of(const BpeTokenizer& tokenizer, const DecoderEntry& entry, const std::vector<std::string>& stop,
                           const JobResult& result) {
  CompletionOutput output;
  output.ttft_s = result.ttft_s;
  output.total_s = result.total_s;
  output.batch_rows = result.batch_rows;
  for (size_t choice = 0; choice < result.tokens.size(); ++choice) {
    ChoiceOutput out;
    out.tokens = result.tokens[choice];
    output.completion_tokens += static_cast<int64_t>(out.tokens.size());
    StreamText stream = stream_text(tokenizer, out.tokens, result.commit_step[choice], stop);
    out.text = stream.text;
    bool stopped = stream.stopped_by_string;
    for (int64_t id : out.tokens) stopped = stopped || entry.stop_ids.count(id) > 0;
    out.finish_reason = stopped ? "stop" : "length";
    output.choices.push_back(std::move(out));
  }
  return output;
}

// The worker's and the route's shared view of one job: the commits the decode reported (kept only for a
// streaming request), then its result or error. The route turns the commits into text pieces.
class JobProgress : public PendingCompletion {
 public:
  JobProgress(const BpeTokenizer& tokenizer, std::shared_ptr<DecoderEntry> entry, std::vector<std::string> stop,
              size_t choices, bool keep_commits, CompletionOutput header)
      : tokenizer_(tokenizer), entry_(std::move(entry)), stop_(std::move(stop)), keep_commits_(keep_commits),
        header_(std::move(header)) {
    for (size_t i = 0; i < choices; ++i) builders_.emplace_back(tokenizer_, stop_);
  }

  // Set by the engine before queueing: takes the job out of the queue when its client goes.
  std::function<void(const JobProgress*)> leave_queue;

  // Worker side. kCancelRow once the client is gone.
  StepVerdict record(size_t choice, const StepCommit& commit) {
    if (cancelled_) return StepVerdict::kCancelRow;
    if (keep_commits_) {
      std::lock_guard<std::mutex> lock(mutex_);
      commits_.emplace_back(choice, commit);
      changed_.notify_all();
    }
    return StepVerdict::kContinue;
  }
  void finish(JobResult result) {
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    ended_ = true;
    changed_.notify_all();
  }
  void fail(std::exception_ptr error) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::move(error);
    ended_ = true;
    changed_.notify_all();
  }
  bool cancelled() const { return cancelled_; }
  bool ended() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return ended_;
  }

  // Route side.
  std::vector<std::pair<size_t, std::string>> next_pieces(std::chrono::milliseconds timeout) override {
    std::deque<std::pair<size_t, StepCommit>> commits;
    bool ended = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, timeout, [&] { return ended_ || !commits_.empty(); });
      commits.swap(commits_);
      ended = ended_;
    }
    std::vector<std::pair<size_t, std::string>> pieces;
    for (const auto& [choice, commit] : commits) {
      std::string piece = builders_.at(choice).commit(commit.positions, commit.tokens);
      if (!piece.empty()) pieces.emplace_back(choice, std::move(piece));
    }
    if (ended && !tail_sent_) {
      tail_sent_ = true;
      if (!error_) {
        const CompletionOutput& whole = output();
        for (size_t choice = 0; choice < whole.choices.size(); ++choice) {
          std::string rest = builders_.at(choice).finish(whole.choices[choice].text);
          if (!rest.empty()) pieces.emplace_back(choice, std::move(rest));
        }
      }
    }
    return pieces;
  }
  bool done() const override { return tail_sent_; }
  CompletionOutput output() override {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return ended_; });
    if (error_) std::rethrow_exception(error_);
    if (!output_) {
      output_ = output_of(tokenizer_, *entry_, stop_, *result_);
      output_->prompt_tokens = header_.prompt_tokens;
      output_->prompt_text = header_.prompt_text;
    }
    return *output_;
  }
  void cancel() override {
    if (cancelled_.exchange(true)) return;
    if (leave_queue) leave_queue(this);
  }

 private:
  const BpeTokenizer& tokenizer_;
  std::shared_ptr<DecoderEntry> entry_;
  std::vector<std::string> stop_;
  bool keep_commits_;
  CompletionOutput header_;  // prompt_tokens and prompt_text
  std::atomic<bool> cancelled_{false};

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<size_t, StepCommit>> commits_;
  bool ended_ = false;
  std::optional<JobResult> result_;
  std::exception_ptr error_;

  // Used by the route's thread only.
  std::vector<StreamTextBuilder> builders_;  // per choice
  bool tail_sent_ = false;
  std::optional<CompletionOutput> output_;
};

struct Job {
  std::shared_ptr<DecoderEntry> entry;
  std::vector<int64_t> prompt;
  int64_t max_new_tokens = 0;
  std::vector<uint64_t> seeds;  // one per choice
  Clock::time_point arrival;
  int64_t prefill_tokens = 0;  // at arrival, for shortest-prefill-first
  int64_t passed_over = 0;
  std::shared_ptr<JobProgress> progress;
};

// Removes the server's own spelling of `key` (its flag, with its value unless a switch, or --set key=...).
std::vector<std::string> without_key(const std::vector<std::string>& args, const runner::DecoderKey& key) {
  const std::string flag = "--" + runner::flag_name(key);
  const bool has_value = key.form != runner::FlagForm::kSwitchOn && key.form != runner::FlagForm::kSwitchOff;
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag) {
      if (has_value) ++i;
      continue;
    }
    if (args[i] == "--set" && i + 1 < args.size() && args[i + 1].rfind(key.name + "=", 0) == 0) {
      ++i;
      continue;
    }
    kept.push_back(args[i]);
  }
  return kept;
}

std::string join(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : " ") + part;
  return text;
}

// "--set steps: expected ..." reads as "steps: expected ..." for a body key.
std::string as_body_message(std::string message) {
  const std::string prefix = "--set ";
  for (size_t at = message.find(prefix); at != std::string::npos; at = message.find(prefix, at))
    message.erase(at, prefix.size());
  return message;
}

}  // namespace

// A decoder served under a name (the `model` requests give), with the settings it has by default.
struct NamedDecoder {
  std::shared_ptr<DecoderEntry> entry;
  std::optional<ServedDecoderSpec> config;  // from --config; without one, the server's decoder flags
};

struct ServeEngine::State {
  ServeSettings settings;
  std::map<std::string, ServedModel> models;  // by name (the command line's model: cli::kCliModel)
  std::shared_ptr<PrefixStore> store;
  RequestOrder order = RequestOrder::kFifo;
  ServeMetrics metrics;

  std::mutex decoders_mutex;
  std::map<std::string, std::shared_ptr<DecoderEntry>> decoders;  // every setting built, by key
  std::map<std::string, NamedDecoder> named;                     // by served name
  std::vector<std::string> served_names;                          // in the order given

  mutable std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::deque<std::unique_ptr<Job>> queue;
  bool stopping = false;
  int64_t running_rows = 0;
  int64_t reused_prompt_tokens = 0;
  std::thread worker;

  // Continuous batching, the worker's own: the running batch (AR or speculative), the setting its rows
  // decode with, and its jobs by the batch's request id with the time each was admitted.
  struct RunningJob {
    std::unique_ptr<Job> job;
    Clock::time_point admitted;
  };
  std::unique_ptr<RunningBatch> running;
  std::shared_ptr<DecoderEntry> running_entry;
  std::map<int64_t, RunningJob> running_jobs;

  ServedModel& load_model(const std::string& name, const std::string& path, std::optional<std::string> tokenizer,
                          bool with_tokenizer);
  // The entry built under `key`, building it with `build` the first time (at most kMaxDecoderSettings).
  std::shared_ptr<DecoderEntry> cached_entry(const std::string& key,
                                             const std::function<std::shared_ptr<DecoderEntry>()>& build);
  std::shared_ptr<DecoderEntry> entry_of(const runner::DecoderSpec& spec, const ServedModel& served,
                                         std::unique_ptr<Decoder> decoder) const;
  std::shared_ptr<DecoderEntry> decoder_for(const std::vector<std::string>& args);
  std::shared_ptr<DecoderEntry> decoder_for_config(const ServedDecoderSpec& config,
                                                   const std::map<std::string, std::string>& settings);
  std::shared_ptr<DecoderEntry> decoder_for_request(const NamedDecoder& named, const ApiRequest& request);
  std::vector<int64_t> prompt_of(const ApiRequest& request, const ServedModel& served, std::string& prompt_text) const;
  void run_worker();
  // Removes the job followed by `progress` from the queue (its client went away), if it is still there.
  void leave_queue(const JobProgress* progress);
  // Under queue_mutex, with a non-empty queue. The queue index of the request that goes next: the oldest,
  // or under shortest-prefill-first the one with the least prefill left unless the oldest has been passed
  // over aging_batches times.
  size_t leader_index() const;
  // Under queue_mutex: the requests of one decode call (the leader, then waiting requests of its setting
  // and length while the rows fit in --max-batch).
  std::vector<std::unique_ptr<Job>> take_batch();
  // Under queue_mutex: the requests that join the running batch now (see run_worker).
  std::vector<std::unique_ptr<Job>> take_admissions();
  // One decode call for `batch`; answers its jobs.
  void decode_call(std::vector<std::unique_ptr<Job>> batch);
  // Prefills `jobs` into the running batch (starting one when none runs); a job it refuses is answered
  // with the error.
  void admit(std::vector<std::unique_ptr<Job>> jobs);
  // One step of the running batch, then every finished job answered and the batch dropped once empty.
  void step_running();
  void answer_finished();
  // Answers `job` with its choices' tokens and commit steps; ttft_s from arrival, decode_after_first_s the
  // decode time after its first token (for the per-token latency).
  void deliver(Job& job, std::vector<std::vector<int64_t>> tokens, std::vector<std::vector<int64_t>> commit_step,
               double ttft_s, double decode_after_first_s, int64_t batch_rows);
};

ServedModel& ServeEngine::State::load_model(const std::string& name, const std::string& path,
                                            std::optional<std::string> tokenizer, bool with_tokenizer) {
  ServedModel& served = models[name];
  served.path = path;
  served.model = load_checkpoint(path, LoadOptions{parse_dtype(settings.dtype), parse_device(settings.device)});
  if (with_tokenizer) {
    served.tokenizer = cli::load_model_tokenizer(path, tokenizer);
    served.chat_template = std::make_unique<ModelChatTemplate>(path, tokenizer);
    check(served.tokenizer->vocab_size() <= served.model->config().vocab_size, path, ": the tokenizer has ",
          served.tokenizer->vocab_size(), " tokens, more than the model's vocabulary of ",
          served.model->config().vocab_size);
  }
  if (store) served.reuse = std::make_shared<PrefixReuse>(store, model_identity(*served.model), served.model->dtype());
  return served;
}

std::shared_ptr<DecoderEntry> ServeEngine::State::cached_entry(
    const std::string& key, const std::function<std::shared_ptr<DecoderEntry>()>& build) {
  std::lock_guard<std::mutex> lock(decoders_mutex);
  if (auto found = decoders.find(key); found != decoders.end()) return found->second;
  if (static_cast<int64_t>(decoders.size()) >= kMaxDecoderSettings)
    throw ApiError(400, "this server already holds " + std::to_string(kMaxDecoderSettings) +
                            " distinct decoder settings; use one of those or the server's default",
                   "invalid_request_error", "", "too_many_decoder_settings");
  std::shared_ptr<DecoderEntry> entry = build();
  entry->key = key;
  decoders.emplace(key, entry);
  return entry;
}

std::shared_ptr<DecoderEntry> ServeEngine::State::entry_of(const runner::DecoderSpec& spec, const ServedModel& served,
                                                           std::unique_ptr<Decoder> decoder) const {
  auto entry = std::make_shared<DecoderEntry>();
  entry->served = &served;
  entry->decoder = std::move(decoder);
  entry->continuous = settings.batching == "continuous" && start_running_batch(*entry->decoder) != nullptr;
  entry->type = spec.type();
  entry->one_sequence_at_a_time = runner::decodes_one_sequence_at_a_time(spec);
  entry->gen_length = spec.gen_length;
  if (const auto* ar = std::get_if<ArConfig>(&spec.settings)) {
    entry->stop_ids.insert(ar->stop_ids.begin(), ar->stop_ids.end());
  } else if (const auto* speculative = std::get_if<runner::SpeculativeSettings>(&spec.settings)) {
    entry->stop_ids.insert(speculative->config.stop_ids.begin(), speculative->config.stop_ids.end());
  }
  const std::vector<int64_t>& eos = served.model->config().eos_token_ids;
  if (entry->stop_ids.empty()) entry->stop_ids.insert(eos.begin(), eos.end());
  return entry;
}

std::shared_ptr<DecoderEntry> ServeEngine::State::decoder_for(const std::vector<std::string>& args) {
  return cached_entry("flags: " + join(args), [&] {
    ArgParser parser("stepwise serve", "decoder settings");
    cli::add_decoder_flags(parser);
    parser.parse(args);
    check(!parser.get_switch("trace"), "--trace does not apply to stepwise serve");
    std::ostringstream notes;
    const runner::DecoderSpec spec = cli::decoder_spec_from_flags(parser, notes);
    const ServedModel& served = models.at(cli::kCliModel);
    return entry_of(spec, served, cli::make_cli_decoder(spec, parser, served.model, served.reuse));
  });
}

std::shared_ptr<DecoderEntry> ServeEngine::State::decoder_for_config(const ServedDecoderSpec& config,
                                                                     const std::map<std::string, std::string>& settings) {
  std::string key = "config: " + config.spec.name;
  for (const auto& [name, value] : settings) key += " " + name + "=" + value;
  return cached_entry(key, [&] {
    const runner::DecoderSpec spec = settings.empty() ? config.spec : with_settings(config, settings);
    runner::ModelTable table;
    for (const auto& [name, served] : models) table.emplace(name, served.model);
    const ServedModel& served = models.at(spec.model);
    return entry_of(spec, served, runner::make_decoder(spec, table, served.reuse));
  });
}

std::shared_ptr<DecoderEntry> ServeEngine::State::decoder_for_request(const NamedDecoder& named,
                                                                      const ApiRequest& request) {
  if (request.decoder_settings.empty()) return named.entry;
  try {
    if (named.config) {
      std::map<std::string, std::string> settings;
      for (const auto& [name, value] : request.decoder_settings) settings.emplace(name, value.dump());
      return decoder_for_config(*named.config, settings);
    }
    std::vector<std::string> args = settings.decoder_args;
    for (const auto& [name, value] : request.decoder_settings) {
      args = without_key(args, *runner::find_decoder_key(name));
      args.push_back("--set");
      args.push_back(name + "=" + value.dump());
    }
    return decoder_for(args);
  } catch (const Error& e) {
    std::string param;
    for (const auto& [name, value] : request.decoder_settings)
      if (std::string(e.what()).find(name) != std::string::npos) param = name;
    throw ApiError(400, as_body_message(e.what()), "invalid_request_error", param);
  }
}

std::vector<int64_t> ServeEngine::State::prompt_of(const ApiRequest& request, const ServedModel& served,
                                                   std::string& prompt_text) const {
  const int64_t vocab = served.model->config().vocab_size;
  const BpeTokenizer& tokenizer = *served.tokenizer;
  std::vector<int64_t> ids;
  if (request.endpoint == Endpoint::kChatCompletions) {
    ChatOptions options;
    options.tools = request.tools;
    options.enable_thinking = request.enable_thinking;
    try {
      prompt_text = served.chat_template->render(request.messages, options);
    } catch (const Error& e) {
      throw ApiError(400, std::string("messages: the chat template failed: ") + e.what(), "invalid_request_error",
                     "messages");
    }
    ids = tokenizer.encode(prompt_text);
  } else if (request.prompt_text) {
    prompt_text = *request.prompt_text;
    ids = tokenizer.encode(prompt_text);
  } else {
    ids = *request.prompt_ids;
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] >= vocab)
        throw ApiError(400,
                       "prompt[" + std::to_string(i) + "]: token id " + std::to_string(ids[i]) +
                           " is outside the vocabulary [0, " + std::to_string(vocab) + ")",
                       "invalid_request_error", "prompt");
  }
  if (ids.empty()) throw ApiError(400, "prompt: encodes to no tokens", "invalid_request_error", "prompt");
  return ids;
}

size_t ServeEngine::State::leader_index() const {
  size_t leader = 0;
  if (order == RequestOrder::kShortestPrefillFirst && queue.front()->passed_over < settings.aging_batches) {
    for (size_t i = 1; i < queue.size(); ++i)
      if (queue[i]->prefill_tokens < queue[leader]->prefill_tokens) leader = i;
  }
  return leader;
}

std::vector<std::unique_ptr<Job>> ServeEngine::State::take_batch() {
  const size_t leader = leader_index();
  std::vector<std::unique_ptr<Job>> batch;
  const Job& first = *queue[leader];
  const bool alone = first.entry->one_sequence_at_a_time;
  int64_t rows = 0;
  std::vector<size_t> chosen{leader};
  rows += static_cast<int64_t>(first.seeds.size());
  if (!alone) {
    for (size_t i = 0; i < queue.size(); ++i) {
      if (i == leader) continue;
      const Job& other = *queue[i];
      if (other.entry != first.entry || other.max_new_tokens != first.max_new_tokens) continue;
      if (rows + static_cast<int64_t>(other.seeds.size()) > settings.max_batch) continue;
      rows += static_cast<int64_t>(other.seeds.size());
      chosen.push_back(i);
    }
  }
  std::sort(chosen.begin(), chosen.end());
  for (size_t i = 0; i < leader; ++i)  // older requests left waiting
    if (!std::binary_search(chosen.begin(), chosen.end(), i)) ++queue[i]->passed_over;
  for (auto it = chosen.rbegin(); it != chosen.rend(); ++it) {
    batch.push_back(std::move(queue[*it]));
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  std::reverse(batch.begin(), batch.end());
  return batch;
}

std::vector<std::unique_ptr<Job>> ServeEngine::State::take_admissions() {
  // Candidates by the queue order: arrival order, or fewest prefill tokens first (ties by arrival) with
  // the oldest first once it has been passed over aging_batches times.
  std::vector<size_t> candidates(queue.size());
  for (size_t i = 0; i < candidates.size(); ++i) candidates[i] = i;
  const bool oldest_aged = queue.front()->passed_over >= settings.aging_batches;
  if (order == RequestOrder::kShortestPrefillFirst)
    std::stable_sort(candidates.begin() + (oldest_aged ? 1 : 0), candidates.end(),
                     [&](size_t a, size_t b) { return queue[a]->prefill_tokens < queue[b]->prefill_tokens; });
  const DecoderEntry* entry = running_entry ? running_entry.get() : queue[candidates.front()]->entry.get();
  int64_t rows = running ? running->rows() : 0;
  std::vector<size_t> chosen;
  for (size_t i : candidates) {
    const Job& job = *queue[i];
    const auto job_rows = static_cast<int64_t>(job.seeds.size());
    if (job.entry.get() == entry && rows + job_rows <= settings.max_batch) {
      rows += job_rows;
      chosen.push_back(i);
      continue;
    }
    // A request passed over that often goes next: no one joins past it, so the batch drains for it.
    if (job.passed_over >= settings.aging_batches) break;
  }
  std::vector<std::unique_ptr<Job>> admitted;
  if (chosen.empty()) return admitted;
  const size_t youngest = *std::max_element(chosen.begin(), chosen.end());
  std::vector<size_t> by_index = chosen;
  std::sort(by_index.begin(), by_index.end());
  for (size_t i = 0; i < youngest; ++i)  // older requests left waiting
    if (!std::binary_search(by_index.begin(), by_index.end(), i)) ++queue[i]->passed_over;
  for (size_t i : chosen) admitted.push_back(std::move(queue[i]));
  for (auto it = by_index.rbegin(); it != by_index.rend(); ++it)
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(*it));
  return admitted;
}

void ServeEngine::State::leave_queue(const JobProgress* progress) {
  std::unique_ptr<Job> gone;
  {
    std::lock_guard<std::mutex> lock(queue_mutex);
    auto found = std::find_if(queue.begin(), queue.end(), [&](const auto& job) { return job->progress.get() == progress; });
    if (found == queue.end()) {  // decoding (the observer stops its rows) or finished
      if (!progress->ended()) metrics.count_cancelled(/*queued=*/false);
      return;
    }
    gone = std::move(*found);
    queue.erase(found);
  }
  metrics.count_cancelled(/*queued=*/true);
  gone->progress->fail(std::make_exception_ptr(ApiError(499, "the client closed the request", "invalid_request_error", "", "cancelled")));
}

void ServeEngine::State::deliver(Job& job, std::vector<std::vector<int64_t>> tokens,
                                 std::vector<std::vector<int64_t>> commit_step, double ttft_s,
                                 double decode_after_first_s, int64_t batch_rows) {
  JobResult out;
  out.ttft_s = ttft_s;
  out.total_s = std::chrono::duration<double>(Clock::now() - job.arrival).count();
  out.batch_rows = batch_rows;
  out.tokens = std::move(tokens);
  out.commit_step = std::move(commit_step);
  const auto first_choice_tokens = static_cast<int64_t>(out.tokens.front().size());
  metrics.observe_ttft(out.ttft_s);
  if (first_choice_tokens > 1)
    metrics.observe_token_latency(decode_after_first_s / static_cast<double>(first_choice_tokens - 1));
  int64_t completion_tokens = 0;
  for (const auto& choice : out.tokens) completion_tokens += static_cast<int64_t>(choice.size());
  metrics.count_tokens(static_cast<int64_t>(job.prompt.size()), completion_tokens);
  job.progress->finish(std::move(out));
}

void ServeEngine::State::decode_call(std::vector<std::unique_ptr<Job>> batch) {
  DecodeRequest request;
  request.max_new_tokens = batch.front()->max_new_tokens;
  int64_t reused = 0;
  for (const auto& job : batch) {
    reused += static_cast<int64_t>(job->prompt.size()) * static_cast<int64_t>(job->seeds.size()) -
              job->entry->decoder->prefill_tokens(job->prompt) * static_cast<int64_t>(job->seeds.size());
    for (uint64_t seed : job->seeds) {
      request.prompts.push_back(job->prompt);
      request.seeds.push_back(seed);
    }
  }
  // Row r of the decode is choice rows_of[r].second of job rows_of[r].first.
  std::vector<std::pair<JobProgress*, size_t>> rows_of;
  for (const auto& job : batch)
    for (size_t choice = 0; choice < job->seeds.size(); ++choice) rows_of.emplace_back(job->progress.get(), choice);
  request.observer = [&rows_of](const StepCommit& commit) {
    const auto& [progress, choice] = rows_of.at(commit.row);
    return progress->record(choice, commit);
  };
  const auto start = Clock::now();
  try {
    DecodeResult result = batch.front()->entry->decoder->decode(request);
    const auto rows = static_cast<int64_t>(request.prompts.size());
    metrics.count_batch(rows);
    size_t row = 0;
    for (auto& job : batch) {
      std::vector<std::vector<int64_t>> tokens, commit_step;
      for (size_t choice = 0; choice < job->seeds.size(); ++choice, ++row) {
        tokens.push_back(result.tokens.at(row));
        commit_step.push_back(row < result.commit_step.size() ? result.commit_step[row] : std::vector<int64_t>{});
      }
      const double ttft_s = std::chrono::duration<double>(start - job->arrival).count() + result.stats.first_token_s;
      deliver(*job, std::move(tokens), std::move(commit_step), ttft_s,
              result.stats.wall_s - result.stats.first_token_s, rows);
    }
  } catch (...) {
    for (auto& job : batch) job->progress->fail(std::current_exception());
  }
  std::lock_guard<std::mutex> lock(queue_mutex);
  running_rows = 0;
  reused_prompt_tokens += reused;
}

void ServeEngine::State::admit(std::vector<std::unique_ptr<Job>> jobs) {
  for (auto& job : jobs) {
    if (!running) {
      running = start_running_batch(*job->entry->decoder);
      running_entry = job->entry;
    }
    DecodeRequest request;
    request.max_new_tokens = job->max_new_tokens;
    request.prompts.assign(job->seeds.size(), job->prompt);
    request.seeds = job->seeds;
    // The running batch reports a request's rows by their index within it: the choice.
    request.observer = [progress = job->progress.get()](const StepCommit& commit) {
      return progress->record(commit.row, commit);
    };
    const auto admitted = Clock::now();
    try {
      const int64_t id = running->add(request);
      running_jobs.emplace(id, RunningJob{std::move(job), admitted});
    } catch (...) {
      job->progress->fail(std::current_exception());
      std::lock_guard<std::mutex> lock(queue_mutex);
      running_rows -= static_cast<int64_t>(job->seeds.size());
    }
  }
}

void ServeEngine::State::answer_finished() {
  int64_t reused = 0;
  for (auto& [id, result] : running->take_finished()) {
    auto found = running_jobs.find(id);
    TORCH_INTERNAL_ASSERT(found != running_jobs.end());
    RunningJob finished = std::move(found->second);
    running_jobs.erase(found);
    reused += result.stats.details.value("reused_prompt_tokens", int64_t{0});
    const double ttft_s =
        std::chrono::duration<double>(finished.admitted - finished.job->arrival).count() + result.stats.first_token_s;
    deliver(*finished.job, std::move(result.tokens), std::move(result.commit_step), ttft_s,
            result.stats.wall_s - result.stats.first_token_s, result.stats.details.value("peak_batch_rows", int64_t{0}));
  }
  std::lock_guard<std::mutex> lock(queue_mutex);
  reused_prompt_tokens += reused;
}

void ServeEngine::State::step_running() {
  if (!running) return;
  try {
    answer_finished();  // requests that ended at their first token
    const int64_t rows = running->rows();
    if (rows > 0) {
      running->step();
      metrics.count_batch(rows);
    }
    answer_finished();
  } catch (...) {
    for (auto& [id, entry] : running_jobs) entry.job->progress->fail(std::current_exception());
    running_jobs.clear();
    running.reset();
  }
  if (running && running_jobs.empty()) running.reset();
  if (!running) running_entry.reset();
  std::lock_guard<std::mutex> lock(queue_mutex);
  running_rows = running ? running->rows() : 0;
}

void ServeEngine::State::run_worker() {
  // Each iteration: with a running batch (or an AR or speculative request leading the queue), admit
  // waiting requests of its setting by the queue order while the rows fit in --max-batch, run one step
  // (an AR token or a speculative round) and answer the finished; any other request leading the queue
  // runs as one decode call with its batch.
  for (;;) {
    std::vector<std::unique_ptr<Job>> call_batch, admitted;
    {
      std::unique_lock<std::mutex> lock(queue_mutex);
      queue_changed.wait(lock, [&] { return stopping || !queue.empty() || running != nullptr; });
      if (queue.empty() && !running) return;
      if (!queue.empty()) {
        if (running || queue[leader_index()]->entry->continuous)
          admitted = take_admissions();
        else
          call_batch = take_batch();
      }
      for (const auto& job : call_batch) running_rows += static_cast<int64_t>(job->seeds.size());
      for (const auto& job : admitted) running_rows += static_cast<int64_t>(job->seeds.size());
    }
    if (!call_batch.empty()) {
      decode_call(std::move(call_batch));
      continue;
    }
    admit(std::move(admitted));
    step_running();
  }
}

ServeEngine::ServeEngine(ServeSettings settings) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.settings = std::move(settings);
  check(s.settings.max_batch >= 1, "--max-batch must be >= 1, got ", s.settings.max_batch);
  check(s.settings.max_queue >= 1, "--max-queue must be >= 1, got ", s.settings.max_queue);
  check(s.settings.default_max_tokens >= 1, "--max-new-tokens must be >= 1, got ", s.settings.default_max_tokens);
  s.order = parse_request_order(s.settings.order);
  check(s.settings.batching == "continuous" || s.settings.batching == "per_call",
        "--batching: expected continuous or per_call, got '", s.settings.batching, "'");
  if (s.settings.prefix_cache) {
    PrefixStoreOptions options;
    options.memory_bytes = s.settings.prefix_cache->memory_mb << 20;
    options.disk_path = s.settings.prefix_cache->disk_path.value_or("");
    options.chunk_tokens = s.settings.prefix_cache->chunk_tokens;
    try {
      s.store = std::make_shared<PrefixStore>(options);
    } catch (const Error& e) {
      fail("--prefix-cache: ", e.what());
    }
  }
  if (s.settings.config_path) {
    const ServeConfig config = load_serve_config(*s.settings.config_path);
    std::set<std::string> decoded;  // models some decoder runs (not only drafts): they need a tokenizer
    for (const auto& served : config.decoders) decoded.insert(served.spec.model);
    for (const auto& [name, model] : config.models) {
      std::optional<std::string> tokenizer;
      if (model.tokenizer == "char")
        fail(config.file, ": models.", name, ".tokenizer: stepwise serve needs a tokenizer file, not the character vocabulary");
      if (model.tokenizer != "auto") tokenizer = model.tokenizer;
      s.load_model(name, *model.path, tokenizer, decoded.count(name) > 0);
    }
    for (const auto& served : config.decoders) {
      s.named[served.spec.name] = NamedDecoder{s.decoder_for_config(served, {}), served};
      s.served_names.push_back(served.spec.name);
    }
  } else {
    s.load_model(cli::kCliModel, s.settings.model_path, s.settings.tokenizer_path, true);
    s.named[s.settings.served_name] = NamedDecoder{s.decoder_for(s.settings.decoder_args), std::nullopt};
    s.served_names.push_back(s.settings.served_name);
  }
  s.worker = std::thread([&s] { s.run_worker(); });
}

ServeEngine::~ServeEngine() { shutdown(); }

const ServeSettings& ServeEngine::settings() const { return state_->settings; }

std::string ServeEngine::describe() const {
  std::string text;
  for (const std::string& name : state_->served_names)
    text += (text.empty() ? "" : "; ") + name + " with " + state_->named.at(name).entry->decoder->describe();
  return text;
}

const std::vector<std::string>& ServeEngine::served_names() const { return state_->served_names; }

CompletionOutput ServeEngine::complete(const ApiRequest& request) { return submit(request)->output(); }

std::shared_ptr<PendingCompletion> ServeEngine::submit(const ApiRequest& request) {
  State& s = *state_;
  const auto named = s.named.find(request.model);
  if (named == s.named.end()) {
    std::string names;
    for (const std::string& name : s.served_names) names += (names.empty() ? "'" : ", '") + name + "'";
    throw ApiError(400, "model: '" + request.model + "' is not served here (this server serves " + names + ")",
                   "invalid_request_error", "model", "model_not_found");
  }
  CompletionOutput output;
  auto job = std::make_unique<Job>();
  job->prompt = s.prompt_of(request, *named->second.entry->served, output.prompt_text);
  job->entry = s.decoder_for_request(named->second, request);
  job->max_new_tokens = job->entry->gen_length.value_or(request.max_tokens.value_or(s.settings.default_max_tokens));
  if (request.max_tokens && job->entry->gen_length && *request.max_tokens != *job->entry->gen_length)
    throw ApiError(400, "max_tokens: the server's decoder has a fixed gen_length of " +
                            std::to_string(*job->entry->gen_length),
                   "invalid_request_error", "max_tokens");
  const int64_t context = job->entry->served->model->config().max_position_embeddings;
  const auto prompt_tokens = static_cast<int64_t>(job->prompt.size());
  if (context > 0 && prompt_tokens >= context)
    throw ApiError(400, "prompt: " + std::to_string(prompt_tokens) + " tokens, the model's context is " +
                            std::to_string(context),
                   "invalid_request_error", "prompt", "context_length_exceeded");
  if (context > 0 && prompt_tokens + job->max_new_tokens > context)
    throw ApiError(400, "max_tokens: " + std::to_string(job->max_new_tokens) + " after a prompt of " +
                            std::to_string(prompt_tokens) + " tokens exceeds the model's context of " +
                            std::to_string(context),
                   "invalid_request_error", "max_tokens", "context_length_exceeded");
  if (request.n > s.settings.max_batch)
    throw ApiError(400, "n: " + std::to_string(request.n) + " choices exceed the server's --max-batch " +
                            std::to_string(s.settings.max_batch),
                   "invalid_request_error", "n");
  if (request.n > 1 && job->entry->one_sequence_at_a_time)
    throw ApiError(400, "n: the " + job->entry->type + " decoder decodes one sequence per request", "invalid_request_error",
                   "n");
  for (int64_t i = 0; i < request.n; ++i) job->seeds.push_back(request.seed + static_cast<uint64_t>(i));
  job->arrival = Clock::now();
  output.prompt_tokens = prompt_tokens;
  auto progress = std::make_shared<JobProgress>(*job->entry->served->tokenizer, job->entry, request.stop, job->seeds.size(), request.stream,
                                                std::move(output));
  progress->leave_queue = [&s](const JobProgress* gone) { s.leave_queue(gone); };
  job->progress = progress;
  {
    std::lock_guard<std::mutex> lock(s.queue_mutex);
    if (s.stopping) throw ApiError(503, "the server is shutting down", "server_error", "", "shutting_down");
    if (static_cast<int64_t>(s.queue.size()) >= s.settings.max_queue)
      throw ApiError(429, "the request queue is full (" + std::to_string(s.settings.max_queue) + " waiting); retry later",
                     "rate_limit_error", "", "queue_full");
    job->prefill_tokens = job->entry->decoder->prefill_tokens(job->prompt);
    s.queue.push_back(std::move(job));
  }
  s.queue_changed.notify_all();
  return progress;
}

void ServeEngine::count_response(int status) { state_->metrics.count_response(status); }

std::string ServeEngine::metrics_text() const {
  const State& s = *state_;
  PrefixStoreFigures figures;
  int64_t queue_length = 0, running = 0;
  {
    std::lock_guard<std::mutex> lock(s.queue_mutex);
    queue_length = static_cast<int64_t>(s.queue.size());
    running = s.running_rows;
    figures.reused_prompt_tokens = s.reused_prompt_tokens;
  }
  if (s.store) {
    const PrefixStoreStats stats = s.store->stats();
    figures.enabled = true;
    figures.memory_hits = stats.memory_hits;
    figures.disk_hits = stats.disk_hits;
    figures.misses = stats.misses;
    figures.inserts = stats.inserts;
    figures.disk_writes = stats.disk_writes;
    figures.torn = stats.torn;
    figures.memory_entries = stats.memory_entries;
    figures.memory_bytes = stats.memory_bytes;
  }
  return s.metrics.exposition(queue_length, running, figures);
}

void ServeEngine::shutdown() {
  State& s = *state_;
  std::deque<std::unique_ptr<Job>> cancelled;
  {
    std::lock_guard<std::mutex> lock(s.queue_mutex);
    s.stopping = true;
    cancelled.swap(s.queue);
  }
  s.queue_changed.notify_all();
  for (auto& job : cancelled)
    job->progress->fail(
        std::make_exception_ptr(ApiError(503, "the server is shutting down", "server_error", "", "shutting_down")));
  if (s.worker.joinable()) s.worker.join();
}

}  // namespace stepwise::serve
