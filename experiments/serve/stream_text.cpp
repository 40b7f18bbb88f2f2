// Splitting a choice's text into stream pieces at the points where its committed prefix grows.
#include "experiments/serve/stream_text.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/tokenizer/bpe_tokenizer.h"

namespace stepwise::serve {
namespace {

// Token counts after which the leading committed run grows, ascending, ending with tokens.size().
std::vector<size_t> growth_points(const std::vector<int64_t>& tokens, const std::vector<int64_t>& commit_step) {
  std::vector<size_t> points;
  if (commit_step.size() != tokens.size()) {
    for (size_t i = 1; i <= tokens.size(); ++i) points.push_back(i);
    return points;
  }
  // The step by which positions 0..i are all committed: a running maximum.
  int64_t ready = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int64_t step = commit_step[i] < 0 ? std::numeric_limits<int64_t>::max() : commit_step[i];
    const int64_t next_ready = std::max(ready, step);
    if (i > 0 && next_ready != ready) points.push_back(i);
    ready = next_ready;
  }
  if (!tokens.empty()) points.push_back(tokens.size());
  return points;
}

}  // namespace

size_t whole_utf8_prefix(const std::string& text) {
  size_t end = text.size();
  // Look back at most 3 bytes for the lead byte of a sequence that is not complete.
  for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    const auto byte = static_cast<unsigned char>(text[text.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte
    size_t length = 1;
    if ((byte & 0xE0) == 0xC0) length = 2;
    else if ((byte & 0xF0) == 0xE0) length = 3;
    else if ((byte & 0xF8) == 0xF0) length = 4;
    if (length > back) end = text.size() - back;
    break;
  }
  return end;
}

StreamTextBuilder::StreamTextBuilder(const BpeTokenizer& tokenizer, std::vector<std::string> stop)
    : tokenizer_(tokenizer), stop_(std::move(stop)) {}

std::string StreamTextBuilder::commit(const std::vector<int64_t>& positions, const std::vector<int64_t>& tokens) {
  for (size_t i = 0; i < positions.size() && i < tokens.size(); ++i) {
    if (positions[i] < 0) continue;
    const auto position = static_cast<size_t>(positions[i]);
    if (position >= tokens_.size()) {
      tokens_.resize(position + 1, 0);
      committed_.resize(position + 1, false);
    }
    tokens_[position] = tokens[i];
    committed_[position] = true;
  }
  const size_t old_run = run_;
  while (run_ < committed_.size() && committed_[run_]) ++run_;
  if (run_ == old_run) return "";
  const std::vector<int64_t> run(tokens_.begin(), tokens_.begin() + static_cast<std::ptrdiff_t>(run_));
  // A run whose bytes end inside a character may still change where its repaired text ends: wait.
  const std::string bytes = tokenizer_.decode_bytes(run, /*skip_special=*/true);
  if (whole_utf8_prefix(bytes) != bytes.size()) return "";
  const std::string text = tokenizer_.decode(run, /*skip_special=*/true);
  size_t end = text.size();
  for (const std::string& stop : stop_) {
    if (stop.empty()) continue;
    const size_t at = text.find(stop);
    if (at != std::string::npos) end = std::min(end, at);
    // An ending that is the start of `stop` may become it with the next tokens.
    for (size_t length = std::min(stop.size() - 1, text.size()); length > 0; --length) {
      if (text.compare(text.size() - length, length, stop, 0, length) == 0) {
        end = std::min(end, text.size() - length);
        break;
      }
    }
  }
  if (end <= sent_.size() || text.compare(0, sent_.size(), sent_) != 0) return "";
  std::string piece = text.substr(sent_.size(), end - sent_.size());
  sent_ += piece;
  return piece;
}

std::string StreamTextBuilder::finish(const std::string& final_text) {
  if (final_text.size() < sent_.size() || final_text.compare(0, sent_.size(), sent_) != 0) return "";
  std::string rest = final_text.substr(sent_.size());
  sent_ = final_text;
  return rest;
}

StreamText stream_text(const BpeTokenizer& tokenizer, const std::vector<int64_t>& tokens,
                       const std::vector<int64_t>& commit_step, const std::vector<std::string>& stop) {
  StreamText out;
  const std::string full = tokenizer.decode(tokens, /*skip_special=*/true);
  size_t cut = full.size();
  for (const std::string& text : stop) {
    const size_t at = full.find(text);
    if (at != std::string::npos && at < cut) {
      cut = at;
      out.stopped_by_string = true;
    }
  }
  out.text = full.substr(0, cut);
  StreamTextBuilder builder(tokenizer, stop);
  size_t committed = 0;
  for (size_t point : growth_points(tokens, commit_step)) {
    std::vector<int64_t> positions;
    for (; committed < point; ++committed) positions.push_back(static_cast<int64_t>(committed));
    std::string piece = builder.commit(positions, std::vector<int64_t>(tokens.begin() + static_cast<std::ptrdiff_t>(positions.front()),
                                                                       tokens.begin() + static_cast<std::ptrdiff_t>(point)));
    if (!piece.empty()) out.pieces.push_back(std::move(piece));
  }
  std::string rest = builder.finish(out.text);
  if (!rest.empty()) out.pieces.push_back(std::move(rest));
  return out;
}

}  // namespace stepwise::serve
