// Key derivation and the KV copies between a decoder's cache and the prefix store.
#include "decoders/prefix_reuse.h"

#include <torch/torch.h>

#include <utility>

#include "core/error.h"

namespace stepwise {
namespace {

Hash128 key_space(const std::string& model_identity, torch::ScalarType dtype, std::string_view layout,
                  int64_t chunk_tokens) {
  StreamingHash hash;
  hash.update(std::string_view("stepwise-kv/1")).update(model_identity).update(std::string_view(c10::toString(dtype)));
  hash.update(layout).update(chunk_tokens);
  return hash.digest();
}

}  // namespace

PrefixReuse::PrefixReuse(std::shared_ptr<PrefixStore> store, std::string model_identity, torch::ScalarType dtype)
    : store_(std::move(store)) {
  check(store_ != nullptr, "prefix reuse: no store given");
  causal_space_ = key_space(model_identity, dtype, "causal-prefix", store_->chunk_tokens());
  canvas_space_ = key_space(model_identity, dtype, "bidirectional-canvas", 0);
  labels_ = {{"model", model_identity}, {"dtype", c10::toString(dtype)}};
}

std::vector<Hash128> PrefixReuse::prefix_keys(const std::vector<int64_t>& prompt, int64_t max_chunks) const {
  return chained_chunk_keys(causal_space_, prompt, chunk_tokens(), max_chunks);
}

int64_t PrefixReuse::cached_prefix_tokens(const std::vector<int64_t>& prompt) const {
  if (prompt.empty()) return 0;
  // Only chunks that end before the last token: that token is always fed.
  const int64_t usable = (static_cast<int64_t>(prompt.size()) - 1) / chunk_tokens();
  int64_t found = 0;
  for (const Hash128& key : prefix_keys(prompt, usable)) {
    if (!store_->contains(key)) break;
    ++found;
  }
  return found * chunk_tokens();
}

std::vector<int64_t> PrefixReuse::load_prefixes(const std::vector<std::vector<int64_t>>& prompts, int64_t width,
                                                KvCache& cache) const {
  const size_t rows = prompts.size();
  std::vector<int64_t> loaded(rows, 0);
  for (size_t r = 0; r < rows; ++r) {
    const auto& prompt = prompts[r];
    const int64_t usable = (static_cast<int64_t>(prompt.size()) - 1) / chunk_tokens();
    std::vector<torch::Tensor> keys, values;  // per chunk (L, H_kv, C, D)
    for (const Hash128& key : prefix_keys(prompt, usable)) {
      std::optional<KvBlock> block = store_->find(key);
      if (!block) break;
      keys.push_back(block->keys);
      values.push_back(block->values);
    }
    if (keys.empty()) continue;
    const int64_t offset = width - static_cast<int64_t>(prompts[r].size());
    const torch::Device device = cache.keys(0).device();
    cache.load_row_span(static_cast<int64_t>(r), offset, torch::cat(keys, 2).to(device),
                        torch::cat(values, 2).to(device));
    loaded[r] = static_cast<int64_t>(keys.size()) * chunk_tokens();
  }
  return loaded;
}

void PrefixReuse::store_prefixes(const std::vector<std::vector<int64_t>>& prompts, int64_t width,
                                 const KvCache& cache) const {
  const int64_t chunk = chunk_tokens();
  for (size_t r = 0; r < prompts.size(); ++r) {
    const int64_t offset = width - static_cast<int64_t>(prompts[r].size());
    const std::vector<Hash128> keys = prefix_keys(prompts[r], static_cast<int64_t>(prompts[r].size()) / chunk);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (store_->contains(keys[i])) continue;
      auto [k, v] = cache.copy_row_span(static_cast<int64_t>(r), offset + static_cast<int64_t>(i) * chunk, chunk);
      store_->put(keys[i], KvBlock{k, v}, labels_);
    }
  }
}

Hash128 PrefixReuse::canvas_key(const std::vector<int64_t>& row_tokens) const {
  StreamingHash hash;
  hash.update(canvas_space_).update(static_cast<int64_t>(row_tokens.size()));
  hash.update_tokens(row_tokens.data(), row_tokens.size());
  return hash.digest();
}

std::optional<KvBlock> PrefixReuse::find_canvas(const Hash128& key) const { return store_->find(key); }

void PrefixReuse::store_canvas(const Hash128& key, const KvBlock& prompt_kv) const {
  std::map<std::string, std::string> labels = labels_;
  labels["layout"] = "bidirectional-canvas";
  store_->put(key, prompt_kv, labels);
}

}  // namespace stepwise
