// Splitting a choice's text into stream pieces at the points where its committed prefix grows.
#include "experiments/serve/stream_text.h"

#include <algorithm>
#include <limits>

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
  size_t emitted = 0;
  for (size_t point : growth_points(tokens, commit_step)) {
    const std::vector<int64_t> prefix(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(point));
    std::string text = point == tokens.size() ? full : tokenizer.decode(prefix, /*skip_special=*/true);
    if (text.compare(0, emitted, out.text, 0, emitted) != 0) continue;  // not a prefix yet: wait
    size_t end = std::min(point == tokens.size() ? text.size() : whole_utf8_prefix(text), cut);
    if (end > emitted) {
      out.pieces.push_back(out.text.substr(emitted, end - emitted));
      emitted = end;
    }
    if (emitted == cut) break;
  }
  if (emitted < out.text.size()) out.pieces.push_back(out.text.substr(emitted));
  return out;
}

}  // namespace stepwise::serve
