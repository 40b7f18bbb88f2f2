// What `stepwise serve` runs behind its HTTP routes: the loaded model, its tokenizer and chat template,
// one decoder per distinct decoder setting (the server's flags with a request's body keys applied as
// `--set` would), a bounded request queue and the one worker thread that decodes it. The worker takes a
// batch between decode calls: the first request by the queue order (fifo, or shortest prefill first with
// an aging bound), then up to --max-batch rows of waiting requests with the same decoder and length.
// Speculative decoders verify one sequence at a time, so their requests run alone. Torch-free header.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiments/runner/experiment_spec.h"
#include "experiments/serve/openai_request.h"

namespace stepwise::serve {

struct ServeSettings {
  std::string model_path;
  std::optional<std::string> tokenizer_path;  // default: the model's own
  std::string served_name;                    // the `model` requests must name
  std::string dtype = "float32";
  std::string device = "cpu";
  std::vector<std::string> decoder_args;  // the server's decoder flags as given (--decoder, --steps, --set ...)
  int64_t default_max_tokens = 32;
  int64_t max_batch = 8;   // rows per decode call
  int64_t max_queue = 64;  // requests waiting; more get 429
  std::string order = "fifo";  // fifo | shortest_prefill_first
  int64_t aging_batches = 4;   // shortest_prefill_first: a request passed over this often goes next
  std::optional<runner::PrefixCacheSpec> prefix_cache;
};

struct ChoiceOutput {
  std::vector<int64_t> tokens;      // generated ids (a stop token included when produced)
  std::string text;                 // their text, cut before the first stop string
  std::vector<std::string> pieces;  // the text in stream order: per token (AR, speculative) or per step (diffusion)
  std::string finish_reason;        // "stop" | "length"
};

struct CompletionOutput {
  std::vector<ChoiceOutput> choices;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string prompt_text;  // chat: the rendered conversation
  double ttft_s = 0.0;      // arrival to the first generated token (queue wait + the decode's first_token_s)
  double total_s = 0.0;     // arrival to the end of the decode
  int64_t batch_rows = 0;   // rows of the decode call it ran in
};

class ServeEngine {
 public:
  // Loads the model, tokenizer and template and checks the decoder flags; stepwise::Error on bad input.
  explicit ServeEngine(ServeSettings settings);
  ~ServeEngine();
  ServeEngine(const ServeEngine&) = delete;
  ServeEngine& operator=(const ServeEngine&) = delete;

  const ServeSettings& settings() const;
  std::string describe_default_decoder() const;

  // Validates `request`, queues it and waits for its decode. ApiError: 400 for bad input (unknown
  // model, a decoder setting the strategy does not take, a prompt or length beyond the context), 429 when
  // the queue is full, 503 while shutting down.
  CompletionOutput complete(const ApiRequest& request);

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
