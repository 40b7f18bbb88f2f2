// Server-sent events of a streaming request as its decode commits text.
#include "experiments/serve/live_stream.h"

#include <exception>
#include <utility>

namespace stepwise::serve {

LiveStream::LiveStream(Endpoint endpoint, ResponseHeader header, std::shared_ptr<PendingCompletion> pending,
                       bool include_usage, size_t choices)
    : endpoint_(endpoint), header_(std::move(header)), pending_(std::move(pending)), include_usage_(include_usage),
      choices_(choices) {}

std::string LiveStream::next(std::chrono::milliseconds wait) {
  std::string text;
  if (!opened_) {
    opened_ = true;
    if (endpoint_ == Endpoint::kChatCompletions)
      for (size_t choice = 0; choice < choices_; ++choice) text += stream_role_event(endpoint_, header_, choice);
    if (!text.empty()) return text;
  }
  for (const auto& [choice, piece] : pending_->next_pieces(wait)) text += stream_piece_event(endpoint_, header_, choice, piece);
  if (pending_->done()) {
    finished_ = true;
    try {
      for (const std::string& event : stream_closing_events(endpoint_, header_, pending_->output(), include_usage_))
        text += event;
    } catch (const ApiError& error) {
      text += stream_error_events(error);
    } catch (const std::exception& error) {
      text += stream_error_events(ApiError(500, std::string("decoding failed: ") + error.what(), "server_error"));
    }
  }
  return text.empty() ? ": waiting\n\n" : text;
}

void LiveStream::abandon() {
  if (!finished_) pending_->cancel();
}

}  // namespace stepwise::serve
