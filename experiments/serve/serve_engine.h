// What `stepwise serve` runs behind its HTTP routes: the loaded models, their tokenizers and chat
// templates, the served decoders by name (one from the server's flags, or the named decoders of a
// --config file), one decoder per distinct decoder setting (a served decoder with a request's body keys
// applied, as `--set` would or as keys of its YAML block), a bounded request queue and the one worker thread that decodes it.
// AR requests (with a KV cache) are batched continuously: between decode steps the worker admits waiting
// requests of the running batch's setting, by the queue order (fifo, or shortest prefill first with an
// aging bound), while the running rows fit in --max-batch, and every finished or cancelled row leaves at
// once (decoders/ar_running_batch.h). Other decoders take a batch per decode call: the first request by
// the queue order, then up to --max-batch rows of waiting requests with the same decoder and length;
// speculative decoders verify one sequence at a time, so their requests run alone. Decoders report each
// step's commits (decoders/decoder.h, StepObserver) to the request's PendingCompletion, which turns them
// into stream text as they come; a request whose client has gone is cancelled: it leaves the queue, or its
// rows stop at their next step. Torch-free header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "experiments/runner/experiment_spec.h"
#include "experiments/serve/openai_request.h"

namespace stepwise::serve {

struct ServeSettings {
  // --config FILE.yaml: models and named decoders from the file (serve_config.h), and model_path,
  // tokenizer_path, served_name and decoder_args are not used.
  std::optional<std::string> config_path;
  std::string model_path;
  std::optional<std::string> tokenizer_path;  // default: the model's own
  std::string served_name;                    // the `model` requests must name
  std::string dtype = "float32";
  std::string device = "cpu";
  std::vector<std::string> decoder_args;  // the server's decoder flags as given (--decoder, --steps, --set ...)
  int64_t default_max_tokens = 32;
  int64_t max_batch = 8;   // rows of the running AR batch, or per decode call of the other decoders
  int64_t max_queue = 64;  // requests waiting; more get 429
  std::string order = "fifo";  // fifo | shortest_prefill_first
  // continuous: AR (with the KV cache) and speculative requests join and leave one running batch between
  // steps; per_call: every decoder batches per decode call (requests with the same setting and max_tokens).
  std::string batching = "continuous";
  int64_t aging_batches = 4;   // a request passed over this often goes next (admission stops past it)
  std::optional<runner::PrefixCacheSpec> prefix_cache;
};

struct ChoiceOutput {
  std::vector<int64_t> tokens;      // generated ids (a stop token included when produced)
  std::string text;                 // their text, cut before the first stop string
  std::string finish_reason;        // "stop" | "length"
};

struct CompletionOutput {
  std::vector<ChoiceOutput> choices;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string prompt_text;  // chat: the rendered conversation
  double ttft_s = 0.0;      // arrival to the first generated token (queue wait + the decode's first_token_s)
  double total_s = 0.0;     // arrival to the end of the decode
  int64_t batch_rows = 0;   // the most rows of a forward it took part in (running batch) or its decode call's rows
};

// One request queued or decoding, as the route answering it sees it.
class PendingCompletion {
 public:
  virtual ~PendingCompletion() = default;
  // Waits up to `timeout` for more of the decode and returns the stream text that became safe to send
  // since the last call, as (choice index, piece) pairs in order; after the decode ended, the rest of
  // each choice's final text. Empty when nothing is new.
  virtual std::vector<std::pair<size_t, std::string>> next_pieces(std::chrono::milliseconds timeout) = 0;
  // Whether next_pieces has handed out everything (the decode ended); output() then returns at once.
  virtual bool done() const = 0;
  // Waits for the end of the decode: the whole output, or the ApiError that ended it (503 when a shutdown
  // cancelled it while queued).
  virtual CompletionOutput output() = 0;
  // The client is gone: a queued request leaves the queue, a decoding one stops at its next step.
  virtual void cancel() = 0;
};

class ServeEngine {
 public:
  // Loads the model, tokenizer and template and checks the decoder flags; stepwise::Error on bad input.
  explicit ServeEngine(ServeSettings settings);
  ~ServeEngine();
  ServeEngine(const ServeEngine&) = delete;
  ServeEngine& operator=(const ServeEngine&) = delete;

  const ServeSettings& settings() const;
  // "NAME with DECODER" per served decoder, joined by "; ".
  std::string describe() const;
  // The names requests may give as `model`: the served model name, or the config file's decoder names.
  const std::vector<std::string>& served_names() const;

  // Validates `request`, queues it and waits for its decode. ApiError: 400 for bad input (unknown
  // model, a decoder setting the strategy does not take, a prompt or length beyond the context), 429 when
  // the queue is full, 503 while shutting down.
  CompletionOutput complete(const ApiRequest& request);

  // The same checks and queueing without waiting: the caller follows the decode (streaming) and may
  // cancel it. Errors as complete() for everything checked before the request is queued.
  std::shared_ptr<PendingCompletion> submit(const ApiRequest& request);

  // Counts a request answered with HTTP `status` (the routes call it once per completion request).
  void count_response(int status);

  // Prometheus text exposition of the counters, gauges and histograms.
  std::string metrics_text() const;

  // Refuses new requests (503), cancels queued ones (503), lets the running batch finish and stops
  // the worker. Idempotent.
  void shutdown();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stepwise::serve
