// The running speculative batch: admission by a prefill alone, rounds that verify every row's drafts
// in one forward, re-alignment of the cache when rows accept different numbers of drafts or leave.
#include "decoders/speculative_running_batch.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "core/timing.h"
#include "decoders/ar_run.h"
#include "decoders/draft_source.h"
#include "decoders/speculative_decoder.h"
#include "decoders/speculative_sequence.h"
#include "models/transformer.h"

namespace stepwise {

struct SpeculativeRunningBatch::Row {
  Row(int64_t id, const SpeculativeDecoder& decoder, const DecodeRequest& request)
      : id(id), sequence(decoder.target(), decoder.make_draft(), decoder.config(), request) {}

  int64_t id;
  Stopwatch wall;  // from the start of add()
  SpeculativeSequence sequence;
  double first_token_s = 0.0;
  int64_t peak_rows = 1;
};

SpeculativeRunningBatch::SpeculativeRunningBatch(const SpeculativeDecoder& decoder) : decoder_(decoder) {}

SpeculativeRunningBatch::~SpeculativeRunningBatch() = default;

int64_t SpeculativeRunningBatch::add(const DecodeRequest& request) {
  torch::NoGradGuard no_grad;
  decoder_.check_request(request);
  const int64_t id = next_id_++;
  auto owned = std::make_unique<Row>(id, decoder_, request);
  Row& joined = *owned;
  members_.emplace(id, std::move(owned));
  try {
    if (request.max_new_tokens == 0) {
      finish(joined);
      return id;
    }
    KvCache alone = speculative_prefill(decoder_.target(), decoder_.prefix_reuse(), joined.sequence);
    joined.first_token_s = joined.wall.seconds();
    if (joined.sequence.finished()) {
      finish(joined);
      return id;
    }
    std::vector<Row*> placed = rows_;
    std::vector<CacheSpan> spans;
    for (size_t r = 0; r < rows_.size(); ++r)
      spans.push_back({&*cache_, static_cast<int64_t>(r), length_,
                       static_cast<int64_t>(rows_[r]->sequence.context().size()) - 1});
    placed.push_back(&joined);
    const auto cached = static_cast<int64_t>(joined.sequence.context().size()) - 1;
    spans.push_back({&alone, 0, cached, cached});
    place(std::move(placed), spans);
  } catch (...) {
    members_.erase(id);
    throw;
  }
  return id;
}

void SpeculativeRunningBatch::place(std::vector<Row*> rows, const std::vector<CacheSpan>& spans) {
  if (rows.empty()) {
    rows_.clear();
    cache_.reset();
    key_valid_ = torch::Tensor();
    length_ = 0;
    return;
  }
  // Room for every row's remaining tokens: a round feeds the pending last token and at most the drafts
  // that still fit in max_new_tokens, i.e. at most the tokens it has left to generate.
  int64_t room = 1;
  for (const Row* row : rows)
    room = std::max(room, row->sequence.capacity() - static_cast<int64_t>(row->sequence.context().size()));
  AlignedCache aligned = align_rows(decoder_.target(), spans, room);
  rows_ = std::move(rows);
  cache_.emplace(std::move(aligned.cache));
  key_valid_ = aligned.key_valid;
  length_ = aligned.length;
}

void SpeculativeRunningBatch::step() {
  if (rows_.empty()) return;
  torch::NoGradGuard no_grad;
  const Transformer& target = decoder_.target();
  const auto count = static_cast<int64_t>(rows_.size());

  std::vector<Draft> drafts;
  std::vector<std::vector<int64_t>> fed;
  int64_t widest = 1;  // 1 + K
  for (Row* row : rows_) {
    drafts.push_back(row->sequence.propose());
    fed.push_back(row->sequence.verification_input(drafts.back()));
    widest = std::max(widest, static_cast<int64_t>(fed.back().size()));
    row->peak_rows = std::max(row->peak_rows, count);
  }
  // Row r: its tokens, then padding; positions continue its own context (n_r - 1, n_r, ...).
  const int64_t pad = pad_id_of(target.config());
  std::vector<int64_t> tokens, positions;
  for (int64_t r = 0; r < count; ++r) {
    const std::vector<int64_t>& row_fed = fed[static_cast<size_t>(r)];
    const auto first_position = static_cast<int64_t>(rows_[static_cast<size_t>(r)]->sequence.context().size()) - 1;
    for (int64_t i = 0; i < widest; ++i) {
      tokens.push_back(i < static_cast<int64_t>(row_fed.size()) ? row_fed[static_cast<size_t>(i)] : pad);
      positions.push_back(first_position + i);
    }
  }
  Stopwatch watch;
  ForwardOptions options;
  options.cache = &*cache_;
  options.cache_write_start = length_;
  if (key_valid_.defined()) options.attention.key_padding = key_valid_.narrow(1, 0, length_ + widest);
  const torch::Tensor input = torch::tensor(tokens, torch::kInt64).view({count, widest}).to(target.device());       // (B, 1+K)
  const torch::Tensor position = torch::tensor(positions, torch::kInt64).view({count, widest}).to(target.device());  // (B, 1+K)
  const torch::Tensor logits = target.forward(input, position, options);  // (B, 1+K, V)
  const double seconds = watch.seconds();

  // Each row's verdict on its own k_r + 1 positions; a row's kept slots end at L + 1 + a_r.
  std::vector<int64_t> ends;
  for (int64_t r = 0; r < count; ++r) {
    Row& row = *rows_[static_cast<size_t>(r)];
    const Draft& draft = drafts[static_cast<size_t>(r)];
    const auto scored = static_cast<int64_t>(fed[static_cast<size_t>(r)].size());
    const int64_t accepted = row.sequence.conclude(draft, logits[r].narrow(0, 0, scored), seconds);
    ends.push_back(length_ + 1 + accepted);
  }
  const int64_t written = length_ + widest;

  std::vector<Row*> kept;
  std::vector<CacheSpan> spans;
  bool same_end = true;
  for (int64_t r = 0; r < count; ++r) {
    Row* row = rows_[static_cast<size_t>(r)];
    if (row->sequence.finished()) {
      finish(*row);
      continue;
    }
    same_end = same_end && ends[static_cast<size_t>(r)] == ends.front();
    kept.push_back(row);
    spans.push_back({&*cache_, r, ends[static_cast<size_t>(r)],
                     static_cast<int64_t>(row->sequence.context().size()) - 1});
  }
  if (kept.size() == rows_.size() && same_end) {
    // Every row accepted the same number of drafts: drop the rest of the round's slots in place.
    cache_->drop_last(written - ends.front());
    length_ = ends.front();
    return;
  }
  place(std::move(kept), spans);
}

void SpeculativeRunningBatch::finish(Row& row) {
  DecodeResult result = row.sequence.finish(row.wall.seconds(), row.first_token_s);
  result.stats.details["peak_batch_rows"] = row.peak_rows;
  const int64_t id = row.id;
  finished_.emplace_back(id, std::move(result));
  members_.erase(id);  // destroys `row`
}

std::vector<std::pair<int64_t, DecodeResult>> SpeculativeRunningBatch::take_finished() {
  std::vector<std::pair<int64_t, DecodeResult>> taken;
  taken.swap(finished_);
  return taken;
}

}  // namespace stepwise
