// The text of a choice and the pieces a stream sends it in. AR and speculative decoders commit tokens
// left to right, so each token is a piece; a diffusion decoder commits canvas positions in any order, so
// a piece is what one step adds to the leading run of committed positions (the text a reader can already
// trust). Pieces end on whole UTF-8 characters (a character split across tokens waits for its last byte),
// their concatenation is the text, and the text ends before the first stop string. Torch-free.
#pragma once

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

// `commit_step[i]`: the step at which position i was committed (empty: one position per step, in order;
// -1: never committed, taken as the last step).
StreamText stream_text(const BpeTokenizer& tokenizer, const std::vector<int64_t>& tokens,
                       const std::vector<int64_t>& commit_step, const std::vector<std::string>& stop);

// Bytes of `text` that form whole UTF-8 characters from its start (a trailing partial sequence excluded).
size_t whole_utf8_prefix(const std::string& text);

}  // namespace stepwise::serve
