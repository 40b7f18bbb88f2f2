// The serving engine: request validation against the model, the decoder table, the queue and the worker.
#include "experiments/serve/serve_engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
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
#include "decoders/prefix_reuse.h"
#include "experiments/cli/decoder_flags.h"
#include "experiments/cli/text_prompt.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/runner/decoder_keys.h"
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

// One decoder setting the server has built, shared by every request that uses it.
struct DecoderEntry {
  std::string key;  // the decoder arguments it was built from, joined
  std::unique_ptr<Decoder> decoder;
  std::string type;
  bool one_sequence_at_a_time = false;
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

struct Job {
  std::shared_ptr<DecoderEntry> entry;
  std::vector<int64_t> prompt;
  int64_t max_new_tokens = 0;
  std::vector<uint64_t> seeds;  // one per choice
  Clock::time_point arrival;
  int64_t prefill_tokens = 0;  // at arrival, for shortest-prefill-first
  int64_t passed_over = 0;
  std::promise<JobResult> promise;
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

struct ServeEngine::State {
  ServeSettings settings;
  std::shared_ptr<const Transformer> model;
  std::unique_ptr<BpeTokenizer> tokenizer;
  std::unique_ptr<ModelChatTemplate> chat_template;
  std::shared_ptr<PrefixStore> store;
  std::shared_ptr<PrefixReuse> reuse;
  RequestOrder order = RequestOrder::kFifo;
  ServeMetrics metrics;

  std::mutex decoders_mutex;
  std::map<std::string, std::shared_ptr<DecoderEntry>> decoders;
  std::shared_ptr<DecoderEntry> default_decoder;

  mutable std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::deque<std::unique_ptr<Job>> queue;
  bool stopping = false;
  int64_t running_rows = 0;
  int64_t reused_prompt_tokens = 0;
  std::thread worker;

  std::shared_ptr<DecoderEntry> decoder_for(const std::vector<std::string>& args);
  std::shared_ptr<DecoderEntry> decoder_for_request(const ApiRequest& request);
  std::vector<int64_t> prompt_of(const ApiRequest& request, std::string& prompt_text) const;
  void run_worker();
  std::vector<std::unique_ptr<Job>> take_batch(std::unique_lock<std::mutex>& lock);
};

std::shared_ptr<DecoderEntry> ServeEngine::State::decoder_for(const std::vector<std::string>& args) {
  const std::string key = join(args);
  std::lock_guard<std::mutex> lock(decoders_mutex);
  if (auto found = decoders.find(key); found != decoders.end()) return found->second;
  if (static_cast<int64_t>(decoders.size()) >= kMaxDecoderSettings)
    throw ApiError(400, "this server already holds " + std::to_string(kMaxDecoderSettings) +
                            " distinct decoder settings; use one of those or the server's default",
                   "invalid_request_error", "", "too_many_decoder_settings");
  ArgParser parser("stepwise serve", "decoder settings");
  cli::add_decoder_flags(parser);
  parser.parse(args);
  check(!parser.get_switch("trace"), "--trace does not apply to stepwise serve");
  std::ostringstream notes;
  const runner::DecoderSpec spec = cli::decoder_spec_from_flags(parser, notes);
  auto entry = std::make_shared<DecoderEntry>();
  entry->key = key;
  entry->type = spec.type();
  entry->one_sequence_at_a_time = runner::decodes_one_sequence_at_a_time(spec);
  entry->gen_length = spec.gen_length;
  entry->decoder = cli::make_cli_decoder(spec, parser, model, reuse);
  if (const auto* ar = std::get_if<ArConfig>(&spec.settings)) {
    entry->stop_ids.insert(ar->stop_ids.begin(), ar->stop_ids.end());
  } else if (const auto* speculative = std::get_if<runner::SpeculativeSettings>(&spec.settings)) {
    entry->stop_ids.insert(speculative->config.stop_ids.begin(), speculative->config.stop_ids.end());
  }
  if (entry->stop_ids.empty()) entry->stop_ids.insert(model->config().eos_token_ids.begin(), model->config().eos_token_ids.end());
  decoders.emplace(key, entry);
  return entry;
}

std::shared_ptr<DecoderEntry> ServeEngine::State::decoder_for_request(const ApiRequest& request) {
  if (request.decoder_settings.empty()) return default_decoder;
  std::vector<std::string> args = settings.decoder_args;
  for (const auto& [name, value] : request.decoder_settings) {
    args = without_key(args, *runner::find_decoder_key(name));
    args.push_back("--set");
    args.push_back(name + "=" + value.dump());
  }
  try {
    return decoder_for(args);
  } catch (const Error& e) {
    std::string param;
    for (const auto& [name, value] : request.decoder_settings)
      if (std::string(e.what()).find(name) != std::string::npos) param = name;
    throw ApiError(400, as_body_message(e.what()), "invalid_request_error", param);
  }
}

std::vector<int64_t> ServeEngine::State::prompt_of(const ApiRequest& request, std::string& prompt_text) const {
  const int64_t vocab = model->config().vocab_size;
  std::vector<int64_t> ids;
  if (request.endpoint == Endpoint::kChatCompletions) {
    ChatOptions options;
    options.tools = request.tools;
    options.enable_thinking = request.enable_thinking;
    try {
      prompt_text = chat_template->render(request.messages, options);
    } catch (const Error& e) {
      throw ApiError(400, std::string("messages: the chat template failed: ") + e.what(), "invalid_request_error",
                     "messages");
    }
    ids = tokenizer->encode(prompt_text);
  } else if (request.prompt_text) {
    prompt_text = *request.prompt_text;
    ids = tokenizer->encode(prompt_text);
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

std::vector<std::unique_ptr<Job>> ServeEngine::State::take_batch(std::unique_lock<std::mutex>&) {
  // The leader: the oldest request, or under shortest-prefill-first the one with the least prefill left,
  // unless the oldest has been passed over aging_batches times.
  size_t leader = 0;
  if (order == RequestOrder::kShortestPrefillFirst && queue.front()->passed_over < settings.aging_batches) {
    for (size_t i = 1; i < queue.size(); ++i)
      if (queue[i]->prefill_tokens < queue[leader]->prefill_tokens) leader = i;
  }
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

void ServeEngine::State::run_worker() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mutex);
      queue_changed.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;
      batch = take_batch(lock);
      for (const auto& job : batch) running_rows += static_cast<int64_t>(job->seeds.size());
    }
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
    const auto start = Clock::now();
    try {
      DecodeResult result = batch.front()->entry->decoder->decode(request);
      metrics.count_batch(static_cast<int64_t>(request.prompts.size()));
      size_t row = 0;
      for (auto& job : batch) {
        JobResult out;
        out.ttft_s = std::chrono::duration<double>(start - job->arrival).count() + result.stats.first_token_s;
        out.total_s = std::chrono::duration<double>(Clock::now() - job->arrival).count();
        out.batch_rows = static_cast<int64_t>(request.prompts.size());
        for (size_t choice = 0; choice < job->seeds.size(); ++choice, ++row) {
          out.tokens.push_back(result.tokens.at(row));
          out.commit_step.push_back(row < result.commit_step.size() ? result.commit_step[row] : std::vector<int64_t>{});
        }
        const double after_first = result.stats.wall_s - result.stats.first_token_s;
        const int64_t tokens = static_cast<int64_t>(out.tokens.front().size());
        metrics.observe_ttft(out.ttft_s);
        if (tokens > 1) metrics.observe_token_latency(after_first / static_cast<double>(tokens - 1));
        job->promise.set_value(std::move(out));
      }
    } catch (...) {
      for (auto& job : batch) job->promise.set_exception(std::current_exception());
    }
    std::lock_guard<std::mutex> lock(queue_mutex);
    running_rows = 0;
    reused_prompt_tokens += reused;
  }
}

ServeEngine::ServeEngine(ServeSettings settings) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.settings = std::move(settings);
  check(s.settings.max_batch >= 1, "--max-batch must be >= 1, got ", s.settings.max_batch);
  check(s.settings.max_queue >= 1, "--max-queue must be >= 1, got ", s.settings.max_queue);
  check(s.settings.default_max_tokens >= 1, "--max-new-tokens must be >= 1, got ", s.settings.default_max_tokens);
  s.order = parse_request_order(s.settings.order);
  s.tokenizer = cli::load_model_tokenizer(s.settings.model_path, s.settings.tokenizer_path);
  s.chat_template = std::make_unique<ModelChatTemplate>(s.settings.model_path, s.settings.tokenizer_path);
  s.model = load_checkpoint(s.settings.model_path,
                            LoadOptions{parse_dtype(s.settings.dtype), parse_device(s.settings.device)});
  check(s.tokenizer->vocab_size() <= s.model->config().vocab_size, s.settings.model_path, ": the tokenizer has ",
        s.tokenizer->vocab_size(), " tokens, more than the model's vocabulary of ", s.model->config().vocab_size);
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
    s.reuse = std::make_shared<PrefixReuse>(s.store, model_identity(*s.model), s.model->dtype());
  }
  s.default_decoder = s.decoder_for(s.settings.decoder_args);
  s.worker = std::thread([&s] { s.run_worker(); });
}

ServeEngine::~ServeEngine() { shutdown(); }

const ServeSettings& ServeEngine::settings() const { return state_->settings; }

std::string ServeEngine::describe_default_decoder() const { return state_->default_decoder->decoder->describe(); }

CompletionOutput ServeEngine::complete(const ApiRequest& request) {
  State& s = *state_;
  if (request.model != s.settings.served_name)
    throw ApiError(400, "model: '" + request.model + "' is not served here (this server serves '" +
                            s.settings.served_name + "')",
                   "invalid_request_error", "model", "model_not_found");
  CompletionOutput output;
  auto job = std::make_unique<Job>();
  job->prompt = s.prompt_of(request, output.prompt_text);
  job->entry = s.decoder_for_request(request);
  job->max_new_tokens = job->entry->gen_length.value_or(request.max_tokens.value_or(s.settings.default_max_tokens));
  if (request.max_tokens && job->entry->gen_length && *request.max_tokens != *job->entry->gen_length)
    throw ApiError(400, "max_tokens: the server's decoder has a fixed gen_length of " +
                            std::to_string(*job->entry->gen_length),
                   "invalid_request_error", "max_tokens");
  const int64_t context = s.model->config().max_position_embeddings;
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
  const std::shared_ptr<DecoderEntry> entry = job->entry;
  std::future<JobResult> future = job->promise.get_future();
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
  JobResult result = future.get();

  output.prompt_tokens = prompt_tokens;
  output.ttft_s = result.ttft_s;
  output.total_s = result.total_s;
  output.batch_rows = result.batch_rows;
  for (size_t choice = 0; choice < result.tokens.size(); ++choice) {
    ChoiceOutput out;
    out.tokens = result.tokens[choice];
    output.completion_tokens += static_cast<int64_t>(out.tokens.size());
    StreamText stream = stream_text(*s.tokenizer, out.tokens, result.commit_step[choice], request.stop);
    out.text = stream.text;
    out.pieces = stream.pieces;
    bool stopped = stream.stopped_by_string;
    for (int64_t id : out.tokens) stopped = stopped || entry->stop_ids.count(id) > 0;
    out.finish_reason = stopped ? "stop" : "length";
    output.choices.push_back(std::move(out));
  }
  s.metrics.count_tokens(prompt_tokens, output.completion_tokens);
  return output;
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
    job->promise.set_exception(
        std::make_exception_ptr(ApiError(503, "the server is shutting down", "server_error", "", "shutting_down")));
  if (s.worker.joinable()) s.worker.join();
}

}  // namespace stepwise::serve
