// The running AR batch: admission by a prefill alone, one-token steps of all rows, re-alignment of the
// cache when rows join or leave.
#include "decoders/ar_running_batch.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/aligned_cache.h"
#include "decoders/ar_decoder.h"
#include "decoders/ar_run.h"
#include "decoders/batch.h"
#include "decoders/commit_reporter.h"
#include "decoders/prefix_reuse.h"
#include "models/transformer.h"

namespace stepwise {

struct ArRunningBatch::Member {
  Member(int64_t id, const DecodeRequest& request, size_t rows)
      : id(id), reporter(request, rows), max_new_tokens(request.max_new_tokens) {
    result.tokens.assign(rows, {});
    result.commit_step.assign(rows, {});
  }

  int64_t id;
  Stopwatch wall;  // from the start of add()
  CommitReporter reporter;
  int64_t max_new_tokens;
  DecodeResult result;
  size_t running_rows = 0;   // rows still in the batch
  int64_t last_step = -1;    // the last step() it took part in
  int64_t peak_rows = 0;
  double prefill_s = 0.0;
  int64_t prompt_width = 0;
  int64_t reused_tokens = 0;
};

ArRunningBatch::ArRunningBatch(const ArDecoder& decoder)
    : decoder_(decoder),
      stop_(decoder.config().stop_ids, decoder.config().stop_on_eos, decoder.model().config().eos_token_ids),
      pad_id_(pad_id_of(decoder.model().config())) {
  check(decoder.config().use_cache, "continuous batching needs the KV cache (use_cache: true)");
}

ArRunningBatch::~ArRunningBatch() = default;

bool ArRunningBatch::record(Member& member, size_t index, int64_t token) {
  std::vector<int64_t>& tokens = member.result.tokens[index];
  const auto position = static_cast<int64_t>(tokens.size());
  tokens.push_back(token);
  member.result.commit_step[index].push_back(position);  // one token per step, as decoded alone
  member.reporter.report_appended(index, position, position, {token});
  return !(stop_.contains(token) || member.reporter.cancelled(index) ||
           static_cast<int64_t>(tokens.size()) == member.max_new_tokens);
}

int64_t ArRunningBatch::add(const DecodeRequest& request) {
  torch::NoGradGuard no_grad;
  check_ar_request(decoder_.model().config(), request);
  const size_t count = request.prompts.size();
  const int64_t id = next_id_++;
  auto member = std::make_unique<Member>(id, request, count);
  Member& joined = *member;
  members_.emplace(id, std::move(member));
  try {
    admit(joined, request);
  } catch (...) {
    members_.erase(id);
    throw;
  }
  return id;
}

void ArRunningBatch::admit(Member& joined, const DecodeRequest& request) {
  const Transformer& model = decoder_.model();
  const ArConfig& config = decoder_.config();
  const size_t count = request.prompts.size();
  if (request.max_new_tokens == 0) {
    finish(joined);
    return;
  }

  // The prefill of the request alone, as ArDecoder::decode runs it (same batch, same cache size).
  const PaddedBatch batch = left_pad(request.prompts, pad_id_, 0, 0, model.device());
  ArRun run(model, batch, request.max_new_tokens, /*use_cache=*/true);
  const PrefixReuse* reuse = decoder_.prefix_reuse();
  const torch::Tensor logits = reuse ? run.prefill_reusing(*reuse, request.prompts) : run.prefill();  // (B, V)
  std::vector<at::Generator> generators;
  if (!config.sampling.greedy())
    for (size_t r = 0; r < count; ++r) generators.push_back(make_generator(request.seed_of(r)));
  const std::vector<int64_t> chosen =
      choose_next_tokens(logits, config.sampling, generators, std::vector<bool>(count, true), pad_id_);
  joined.prefill_s = joined.wall.seconds();
  joined.result.stats.first_token_s = joined.prefill_s;
  joined.result.stats.forward_calls = 1;
  joined.prompt_width = batch.width;
  joined.reused_tokens = run.reused_tokens();
  joined.peak_rows = static_cast<int64_t>(count);

  std::vector<Row> placed = rows_;
  std::vector<Source> sources;
  for (size_t r = 0; r < rows_.size(); ++r) sources.push_back({&*cache_, static_cast<int64_t>(r), length_});
  size_t going_on = 0;
  for (size_t r = 0; r < count; ++r) {
    if (!record(joined, r, chosen[r])) continue;
    Row row;
    row.member = &joined;
    row.index = r;
    row.cached = batch.prompt_lengths[r];
    row.next_token = chosen[r];
    if (!generators.empty()) row.generator = generators[r];
    placed.push_back(row);
    sources.push_back({&run.cache(), static_cast<int64_t>(r), batch.width});
    ++going_on;
  }
  if (going_on == 0) {
    finish(joined);
    return;
  }
  place(std::move(placed), sources);
  joined.running_rows = going_on;
}

void ArRunningBatch::place(std::vector<Row> rows, const std::vector<Source>& sources) {
  TORCH_INTERNAL_ASSERT(rows.size() == sources.size());
  if (rows.empty()) {
    rows_.clear();
    cache_.reset();
    key_valid_ = torch::Tensor();
    length_ = 0;
    return;
  }
  int64_t room = 1;
  std::vector<CacheSpan> spans;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    // Tokens still to feed: every one but the last of the max_new_tokens it may generate.
    room = std::max(room, row.member->max_new_tokens - static_cast<int64_t>(row.member->result.tokens[row.index].size()));
    spans.push_back({sources[i].cache, sources[i].row, sources[i].end, row.cached});
  }
  AlignedCache aligned = align_rows(decoder_.model(), spans, room);
  rows_ = std::move(rows);
  cache_.emplace(std::move(aligned.cache));
  key_valid_ = aligned.key_valid;
  length_ = aligned.length;
}

void ArRunningBatch::step() {
  if (rows_.empty()) return;
  torch::NoGradGuard no_grad;
  const Transformer& model = decoder_.model();
  const ArConfig& config = decoder_.config();
  const auto count = static_cast<int64_t>(rows_.size());
  std::vector<int64_t> tokens, positions;
  std::vector<at::Generator> generators;
  for (Row& row : rows_) {
    tokens.push_back(row.next_token);
    positions.push_back(row.cached);  // a row's positions count its own tokens only
    if (row.generator) generators.push_back(*row.generator);
    if (row.member->last_step != steps_) {
      row.member->last_step = steps_;
      ++row.member->result.stats.forward_calls;
      row.member->peak_rows = std::max(row.member->peak_rows, count);
    }
  }
  ++steps_;
  ForwardOptions options;
  options.last_position_only = true;
  options.cache = &*cache_;
  options.cache_write_start = length_;
  if (key_valid_.defined()) options.attention.key_padding = key_valid_.narrow(1, 0, length_ + 1);
  const torch::Tensor input = torch::tensor(tokens, torch::kInt64).to(model.device()).view({count, 1});         // (B, 1)
  const torch::Tensor position = torch::tensor(positions, torch::kInt64).to(model.device()).view({count, 1});  // (B, 1)
  const torch::Tensor logits = model.forward(input, position, options).select(1, 0);                           // (B, V)
  ++length_;
  const std::vector<int64_t> chosen =
      choose_next_tokens(logits, config.sampling, generators, std::vector<bool>(rows_.size(), true), pad_id_);

  std::vector<Row> kept;
  std::vector<Source> sources;
  for (size_t r = 0; r < rows_.size(); ++r) {
    Row row = rows_[r];
    ++row.cached;
    row.next_token = chosen[r];
    if (record(*row.member, row.index, chosen[r])) {
      kept.push_back(row);
      sources.push_back({&*cache_, static_cast<int64_t>(r), length_});
    } else if (--row.member->running_rows == 0) {
      finish(*row.member);
    }
  }
  if (kept.size() == rows_.size()) {
    rows_ = std::move(kept);
    return;
  }
  place(std::move(kept), sources);
}

void ArRunningBatch::finish(Member& member) {
  DecodeResult& result = member.result;
  for (const auto& row : result.tokens) result.stats.generated_tokens += static_cast<int64_t>(row.size());
  result.stats.wall_s = member.wall.seconds();
  result.stats.details = {{"use_cache", true},
                          {"prefill_s", member.prefill_s},
                          {"decode_s", result.stats.wall_s - member.prefill_s},
                          {"prompt_width", member.prompt_width},
                          {"peak_batch_rows", member.peak_rows}};
  if (decoder_.prefix_reuse()) result.stats.details["reused_prompt_tokens"] = member.reused_tokens;
  const int64_t id = member.id;
  finished_.emplace_back(id, std::move(result));
  members_.erase(id);  // destroys `member`
}

std::vector<std::pair<int64_t, DecodeResult>> ArRunningBatch::take_finished() {
  std::vector<std::pair<int64_t, DecodeResult>> taken;
  taken.swap(finished_);
  return taken;
}

}  // namespace stepwise
