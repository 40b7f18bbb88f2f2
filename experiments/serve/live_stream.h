// The server-sent events of one streaming response, made while its request decodes: chat role events
// first, then each text piece as soon as the decode commits it (PendingCompletion::next_pieces), then the
// closing events once the decode ends, or an error event when it ended in an error after the response
// had begun. While nothing new comes the stream sends an SSE comment, so that a client that went away is
// noticed (the write fails) and its request cancelled. Torch-free.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "experiments/serve/openai_response.h"
#include "experiments/serve/serve_engine.h"

namespace stepwise::serve {

class LiveStream {
 public:
  LiveStream(Endpoint endpoint, ResponseHeader header, std::shared_ptr<PendingCompletion> pending, bool include_usage,
             size_t choices);

  // The next text to send (never empty): new events, or a keep-alive comment when `wait` passed without any.
  std::string next(std::chrono::milliseconds wait);
  // Whether the last event has been handed out.
  bool finished() const { return finished_; }
  // The client is gone before the end: the request is cancelled.
  void abandon();

 private:
  Endpoint endpoint_;
  ResponseHeader header_;
  std::shared_ptr<PendingCompletion> pending_;
  bool include_usage_;
  size_t choices_;
  bool opened_ = false;
  bool finished_ = false;
};

}  // namespace stepwise::serve
