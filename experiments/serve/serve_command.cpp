// `stepwise serve`: an OpenAI-compatible HTTP server over any decoder. Routes: POST /v1/completions and
// /v1/chat/completions (whole responses, or server-sent events sent as the decode commits text with
// "stream": true; a client that leaves mid-stream cancels its request), GET /v1/models,
// /health and /metrics. The HTTP layer is cpp-httplib; requests go to ServeEngine. SIGTERM or SIGINT
// stops accepting, answers queued requests with 503, lets the running decode finish and exits 0.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/tensor/runtime.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/decoder_flags.h"
#include "experiments/serve/live_stream.h"
#include "experiments/serve/openai_request.h"
#include "experiments/serve/openai_response.h"
#include "experiments/serve/prefix_cache_flag.h"
#include "experiments/serve/serve_engine.h"
#include "experiments/terminal/cli_args.h"

namespace stepwise::cli {
namespace {

using serve::ApiError;
using serve::Endpoint;

constexpr size_t kMaxBodyBytes = size_t{8} << 20;
// How long a stream waits for news before it sends a keep-alive comment (which notices a gone client).
constexpr std::chrono::milliseconds kStreamPoll{100};

// The serve command's own options (each takes a value); every other flag is a decoder flag.
const std::set<std::string>& serve_options() {
  static const std::set<std::string> options{
      "--config", "--model",  "--tokenizer", "--served-model-name", "--host",   "--port",         "--max-new-tokens", "--max-batch",
      "--max-queue", "--order", "--batching", "--prefix-cache",      "--dtype",  "--device",       "--threads"};
  return options;
}

std::vector<std::string> decoder_arguments(const Args& args) {
  std::vector<std::string> decoder_args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (serve_options().count(args[i])) {
      ++i;
      continue;
    }
    decoder_args.push_back(args[i]);
  }
  return decoder_args;
}

std::string model_name_of(const std::string& path) {
  std::string name = path;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  const size_t slash = name.find_last_of('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

void send_error(httplib::Response& response, const ApiError& error) {
  response.status = error.status();
  response.set_content(serve::dump_json(error.body()), "application/json");
}

}  // namespace

int run_serve(const Args& args) {
  ArgParser parser(
      "stepwise serve --model DIR|FILE [--decoder TYPE ...decoder flags as generate...] [--host 127.0.0.1] [--port 8000]\n"
      "       stepwise serve --config FILE.yaml [--host 127.0.0.1] [--port 8000]",
      "Serve the model over an OpenAI-compatible HTTP API: POST /v1/completions, POST /v1/chat/completions\n"
      "(\"stream\": true for server-sent events), GET /v1/models, /health, /metrics (Prometheus). The decoder\n"
      "flags set the default decoder; a request may change any setting with a body key named as in experiment\n"
      "files (steps, alg, threshold, block_length, cache, draft_length, temperature, top_p, top_k, ...).\n"
      "With --config, the file's models: and decoders: sections (as in experiment files) give several named\n"
      "decoders, and a request's `model` names one.\n"
      "docs/serving.md describes the API.");
  parser.add_option("config", "FILE.yaml",
                    "models and named decoders (a request's `model` picks one), instead of --model and decoder flags");
  parser.add_option("model", "DIR", "checkpoint directory or .gguf file");
  parser.add_option("tokenizer", "FILE", "tokenizer.json or .gguf (default: the model's)");
  parser.add_option("served-model-name", "NAME", "the `model` requests name (default: the model path's last part)");
  parser.add_option("host", "ADDRESS", "address to listen on", "127.0.0.1");
  parser.add_option("port", "N", "port to listen on (0: any free port, printed on stderr)", "8000");
  parser.add_option("max-new-tokens", "N", "max_tokens of a request that gives none (diffusion: canvas length)", "32");
  parser.add_option("max-batch", "N", "rows per decode call (requests with the same decoder and length)", "8");
  parser.add_option("max-queue", "N", "requests waiting for a batch; beyond it requests get 429", "64");
  parser.add_option("order", "ORDER", "fifo | shortest_prefill_first (by prefill left after reuse, with aging)", "fifo");
  parser.add_option("batching", "MODE",
                    "continuous (AR with the KV cache and speculative requests join a running batch between steps) | "
                    "per_call (requests with the same decoder setting and max_tokens share one decode call)",
                    "continuous");
  parser.add_option("prefix-cache", "SPEC", "reuse prompt KV across requests: memory_mb=N,disk_path=DIR,chunk_tokens=N");
  parser.add_option("dtype", "DTYPE", "compute dtype: float32 | bfloat16", "float32");
  parser.add_option("device", "DEVICE", "cpu | cuda | auto", "cpu");
  parser.add_option("threads", "N", "torch intra-op threads (0 = $STEPWISE_THREADS or all cores)", "0");
  add_decoder_flags(parser);
  if (!parser.parse(args)) return 0;

  serve::ServeSettings settings;
  settings.config_path = parser.get_optional("config");
  settings.decoder_args = decoder_arguments(args);
  if (settings.config_path) {
    check(!parser.get_optional("model") && !parser.get_optional("tokenizer") && !parser.get_optional("served-model-name"),
          "--config: the file names the models; drop --model, --tokenizer and --served-model-name");
    if (!settings.decoder_args.empty())
      fail("--config: the file holds the decoders; drop the decoder flags (", settings.decoder_args.front(), ")");
  } else {
    settings.model_path = parser.get("model");
    settings.tokenizer_path = parser.get_optional("tokenizer");
    settings.served_name = parser.get_optional("served-model-name").value_or(model_name_of(settings.model_path));
  }
  settings.dtype = parser.get("dtype");
  settings.device = parser.get("device");
  settings.default_max_tokens = parser.get_int("max-new-tokens");
  settings.max_batch = parser.get_int("max-batch");
  settings.max_queue = parser.get_int("max-queue");
  settings.order = parser.get("order");
  settings.batching = parser.get("batching");
  if (const auto spec = parser.get_optional("prefix-cache")) settings.prefix_cache = serve::parse_prefix_cache_flag(*spec);
  const int64_t port = parser.get_int("port");
  check(port >= 0 && port <= 65535, "--port: expected 0 to 65535, got ", port);
  check(settings.max_queue <= 4096, "--max-queue: expected at most 4096, got ", settings.max_queue);
  configure_threads(parser.get_int("threads"));

  // Signals go to one thread that waits for them; every thread started from here on inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  serve::ServeEngine engine(settings);
  const int64_t started = static_cast<int64_t>(std::time(nullptr));
  httplib::Server server;
  const size_t handler_threads = static_cast<size_t>(std::min<int64_t>(settings.max_queue + settings.max_batch + 4, 512));
  server.new_task_queue = [handler_threads] { return new httplib::ThreadPool(handler_threads); };
  server.set_payload_max_length(kMaxBodyBytes);

  auto completions = [&](Endpoint endpoint) {
    return [&, endpoint](const httplib::Request& request, httplib::Response& response) {
      int status = 200;
      try {
        const serve::ApiRequest api_request = serve::parse_api_request(endpoint, request.body);
        const serve::ResponseHeader header = serve::new_response_header(endpoint, api_request.model);
        if (api_request.stream) {
          auto stream = std::make_shared<serve::LiveStream>(endpoint, header, engine.submit(api_request),
                                                            api_request.include_usage, static_cast<size_t>(api_request.n));
          response.set_header("Cache-Control", "no-cache");
          response.set_chunked_content_provider(
              "text/event-stream",
              [stream](size_t, httplib::DataSink& sink) {
                const std::string text = stream->next(kStreamPoll);
                if (!sink.write(text.data(), text.size())) return false;  // the client is gone
                if (stream->finished()) sink.done();
                return true;
              },
              [stream](bool complete) {
                if (!complete) stream->abandon();
              });
        } else {
          const serve::CompletionOutput output = engine.complete(api_request);
          response.set_content(serve::dump_json(serve::completion_body(endpoint, header, output)), "application/json");
        }
      } catch (const ApiError& error) {
        status = error.status();
        send_error(response, error);
      } catch (const Error& error) {
        status = 400;
        send_error(response, ApiError(400, error.what()));
      } catch (const std::exception& error) {
        status = 500;
        send_error(response, ApiError(500, std::string("decoding failed: ") + error.what(), "server_error"));
      }
      engine.count_response(status);
    };
  };
  server.Post("/v1/completions", completions(Endpoint::kCompletions));
  server.Post("/v1/chat/completions", completions(Endpoint::kChatCompletions));
  server.Get("/v1/models", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(serve::dump_json(serve::models_body(engine.served_names(), started)), "application/json");
  });
  server.Get("/health", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"status\":\"ok\"}", "application/json");
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(engine.metrics_text(), "text/plain; version=0.0.4");
  });
  server.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;
    const std::string message = response.status == 404 ? "no route " + request.method + " " + request.path
                                                        : "HTTP error " + std::to_string(response.status);
    send_error(response, ApiError(response.status, message, "invalid_request_error"));
  });

  const std::string host = parser.get("host");
  int bound = static_cast<int>(port);
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, bound)) {
    bound = -1;
  }
  check(bound > 0, "--host ", host, " --port ", port, ": cannot listen there (in use, or not a local address)");

  std::atomic<bool> signalled{false};
  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    signalled = true;
    std::cerr << "serve: stopping (signal " << signal_number << ")\n";
    engine.shutdown();
    server.stop();
  });
  std::cerr << "serve: " << engine.describe()
            << ", listening on http://" << host << ":" << bound << std::endl;
  server.listen_after_bind();
  if (!signalled) kill(getpid(), SIGTERM);  // the listener ended on its own: wake the waiter
  signal_waiter.join();
  engine.shutdown();
  std::cerr << "serve: stopped\n";
  return 0;
}

}  // namespace stepwise::cli
