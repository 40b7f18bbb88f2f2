// The text of a choice and the pieces a stream sends it in. AR and speculative decoders commit tokens
// left to right, so each token is a piece; a diffusion decoder commits canvas positions in any order, so
// a piece is what one step adds to the leading run of committed positions (the text a reader can already
// trust). Pieces end on whole UTF-8 characters (a character split across tokens waits for its last byte),
// their concatenation is the text, and the text ends before the first stop string. StreamTextBuilder
// makes the pieces as a decode commits its tokens (live streaming); stream_text makes them from a finished
// decode through the same builder. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace stepwise {
class BpeTokenizer;
}

namespace stepwise::serve {

struct StreamText {
  std::string text;
  std::vector<std::string> pieces;  // non-empty, in order; concatenated they are `text`
  bool stopped_by_string = false;
};

// The pieces of one choice while it decodes. Each commit may extend the leading run of committed
// positions; the text of that run, up to its last whole character, before any stop string and without an
// ending that could still become one, is what may be sent, and a piece is what it adds to the text sent.
class StreamTextBuilder {
 public:
  StreamTextBuilder(const BpeTokenizer& tokenizer, std::vector<std::string> stop);

  // Records `tokens` committed at generated `positions` (any order; negative positions are ignored) and
  // returns the text that became safe to send (empty when none).
  std::string commit(const std::vector<int64_t>& positions, const std::vector<int64_t>& tokens);

  // The rest of the choice's final text (its whole decoded text cut at the first stop string), which
  // starts with everything sent so far; empty when it does not.
  std::string finish(const std::string& final_text);

  const std::string& sent() const { return sent_; }

 private:
  const BpeTokenizer& tokenizer_;
  std::vector<std::string> stop_;
  std::vector<int64_t> tokens_;  // per generated position, valid where committed_
  std::vector<bool> committed_;
  size_t run_ = 0;  // leading committed positions
  std::string sent_;
};

// `commit_step[i]`: the step at which position i was committed (empty: one position per step, in order;
// -1: never committed, taken as the last step).
StreamText stream_text(const BpeTokenizer& tokenizer, const std::vector<int64_t>& tokens,
                       const std::vector<int64_t>& commit_step, const std::vector<std::string>& stop);

// Bytes of `text` that form whole UTF-8 characters from its start (a trailing partial sequence excluded).
size_t whole_utf8_prefix(const std::string& text);

}  // namespace stepwise::serve
