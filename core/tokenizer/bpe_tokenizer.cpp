// Encode and decode of the byte-level BPE tokenizer. Encode follows the reference pipeline: added tokens are
// cut out of the raw text, the rest is normalized, split by the pre-tokenizer regexes, and each pre-token's
// bytes are merged lowest rank first (a heap over adjacent pairs), with a per-word result cache. Decode maps
// ids back to bytes. Reading tokenizer.json is core/tokenizer/bpe_tokenizer_load.cpp.
#include "core/tokenizer/bpe_tokenizer.h"

#include <algorithm>

#include "core/tokenizer/bpe_tokenizer_state.h"
#include "core/error.h"

namespace stepwise {

namespace bpe {

constexpr size_t kCacheCapacity = size_t{1} << 16;  // words; the cache is emptied when full
constexpr size_t kMaxCachedWordBytes = 256;

struct Symbol {
  int32_t id;
  int32_t prev;  // -1 at the start
  int32_t next;  // -1 at the end
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  // std::push_heap keeps the largest on top: make that the lowest rank, then the leftmost.
  bool operator<(const Candidate& other) const { return rank != other.rank ? rank > other.rank : pos > other.pos; }
};

// Working memory of one encode() call.
struct EncodeScratch {
  MatchData match_data = make_match_data();
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<int32_t> word_ids;
};

}  // namespace bpe

using bpe::EncodeScratch;

std::vector<int64_t> bpe::TokenizerState::encode(std::string_view text) const {
  const size_t bad = bpe::find_invalid_utf8(text);
  check(bad == std::string_view::npos, "cannot encode: text is not valid UTF-8 (byte offset ", bad, ")");
  EncodeScratch scratch;
  std::vector<int64_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<bpe::Segment> segments;
  raw_matcher.split(text, segments);
  for (const bpe::Segment& segment : segments) {
    if (segment.id >= 0) {
      out.push_back(segment.id);
    } else {
      encode_text(segment.text, scratch, out);
    }
  }
  return out;
}

void bpe::TokenizerState::encode_text(std::string_view text, EncodeScratch& scratch, std::vector<int64_t>& out) const {
  std::string storage;
  const std::string_view normalized = normalizer.apply(text, storage);
  if (normalized_matcher.empty()) {
    pre_tokenize(0, normalized, scratch, out);
    return;
  }
  std::vector<bpe::Segment> segments;
  normalized_matcher.split(normalized, segments);
  for (const bpe::Segment& segment : segments) {
    if (segment.id >= 0) {
      out.push_back(segment.id);
    } else {
      pre_tokenize(0, segment.text, scratch, out);
    }
  }
}

void bpe::TokenizerState::pre_tokenize(size_t step, std::string_view piece, EncodeScratch& scratch,
                                       std::vector<int64_t>& out) const {
  if (piece.empty()) return;
  if (step == pre_tokenizer.size()) {
    encode_word(piece, scratch, out);
    return;
  }
  const bpe::PreTokenizerStep& current = pre_tokenizer[step];
  std::string prefixed;
  if (current.add_prefix_space && piece.front() != ' ') {
    prefixed.reserve(piece.size() + 1);
    prefixed += ' ';
    prefixed.append(piece);
    piece = prefixed;
  }
  if (!current.regex) {
    pre_tokenize(step + 1, piece, scratch, out);
    return;
  }
  pcre2_match_data* data = scratch.match_data.get();
  if (current.behavior == bpe::SplitBehavior::kIsolated) {
    // Every piece is kept whatever `invert` says, so stream them (Qwen, LLaMA-3 and GPT-2 all split this way).
    bpe::for_each_piece(*current.regex, piece, data, [&](size_t start, size_t end, bool) {
      pre_tokenize(step + 1, piece.substr(start, end - start), scratch, out);
    });
    return;
  }
  std::vector<bpe::Piece> pieces;
  bpe::for_each_piece(*current.regex, piece, data, [&](size_t start, size_t end, bool is_match) {
    pieces.push_back({start, end, is_match});
  });
  bpe::apply_behavior(current.behavior, current.invert, pieces);
  for (const bpe::Piece& part : pieces) {
    pre_tokenize(step + 1, piece.substr(part.start, part.end - part.start), scratch, out);
  }
}

void bpe::TokenizerState::encode_word(std::string_view word, EncodeScratch& scratch, std::vector<int64_t>& out) const {
  if (word.size() == 1 && byte_ids[static_cast<uint8_t>(word[0])] >= 0) {
    out.push_back(byte_ids[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (ignore_merges) {
    if (auto it = whole_words.find(std::string(word)); it != whole_words.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= bpe::kMaxCachedWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (auto it = cache.find(key); it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  merge_word(word, scratch);
  out.insert(out.end(), scratch.word_ids.begin(), scratch.word_ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= bpe::kCacheCapacity) cache.clear();
    cache.emplace(std::move(key), scratch.word_ids);
  }
}

void bpe::TokenizerState::merge_word(std::string_view word, EncodeScratch& scratch) const {
  std::vector<bpe::Symbol>& symbols = scratch.symbols;
  symbols.clear();
  const auto push_symbol = [&](int32_t id) {
    const auto index = static_cast<int32_t>(symbols.size());
    if (index > 0) symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, true});
  };
  bool previous_unk = false;
  for (char c : word) {
    const int32_t id = byte_ids[static_cast<uint8_t>(c)];
    if (id >= 0) {
      push_symbol(id);
      previous_unk = false;
    } else if (unk_id) {  // without an unk token the reference drops bytes missing from the vocabulary
      if (!(fuse_unk && previous_unk)) push_symbol(*unk_id);
      previous_unk = true;
    }
  }

  std::vector<bpe::Candidate>& heap = scratch.heap;
  heap.clear();
  const auto push_candidate = [&](int32_t pos, int32_t left, int32_t right) {
    if (auto it = merges.find(bpe::pair_key(left, right)); it != merges.end()) {
      heap.push_back({it->second.rank, pos, it->second.new_id});
      std::push_heap(heap.begin(), heap.end());
    }
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    push_candidate(static_cast<int32_t>(i), symbols[i].id, symbols[i + 1].id);
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const bpe::Candidate top = heap.back();
    heap.pop_back();
    bpe::Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    bpe::Symbol& right = symbols[left.next];
    // A stale candidate: the pair at this position changed since it was queued (same test as the reference).
    const auto rule = merges.find(bpe::pair_key(left.id, right.id));
    if (rule == merges.end() || rule->second.new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push_candidate(left.prev, symbols[left.prev].id, left.id);
    if (left.next >= 0) push_candidate(top.pos, left.id, symbols[left.next].id);
  }
  scratch.word_ids.clear();
  for (const bpe::Symbol& symbol : symbols) {
    if (symbol.alive) scratch.word_ids.push_back(symbol.id);
  }
}

void bpe::TokenizerState::check_id(int64_t id) const {
  check(id >= 0 && id < static_cast<int64_t>(id_kinds.size()) &&
            id_kinds[static_cast<size_t>(id)] != bpe::IdKind::kUnused,
        "cannot decode token id ", id, ": not in the vocabulary of ", path, " (", id_kinds.size(), " ids)");
}

BpeTokenizer::BpeTokenizer(std::unique_ptr<bpe::TokenizerState> state) : state_(std::move(state)) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

std::vector<int64_t> BpeTokenizer::encode(const std::string& text) const { return state_->encode(text); }

std::string BpeTokenizer::decode_bytes(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int64_t id : ids) {
    state_->check_id(id);
    const auto index = static_cast<size_t>(id);
    if (skip_special && state_->id_kinds[index] == bpe::IdKind::kSpecial) continue;
    bytes += state_->id_bytes[index];
  }
  return bytes;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  return bpe::repair_utf8(decode_bytes(ids, skip_special));
}

int64_t BpeTokenizer::vocab_size() const { return static_cast<int64_t>(state_->id_kinds.size()); }

std::optional<int64_t> BpeTokenizer::token_id(const std::string& token) const {
  auto it = state_->token_ids.find(token);
  if (it == state_->token_ids.end()) return std::nullopt;
  return it->second;
}

bool BpeTokenizer::is_special(int64_t id) const {
  return id >= 0 && id < vocab_size() && state_->id_kinds[static_cast<size_t>(id)] == bpe::IdKind::kSpecial;
}

}  // namespace stepwise
