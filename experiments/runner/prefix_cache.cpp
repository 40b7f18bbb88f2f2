// The experiment-wide prefix store and its per-model reuse bindings.
#include "experiments/runner/prefix_cache.h"

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "decoders/prefix_reuse.h"
#include "models/model_identity.h"
#include "models/transformer.h"

namespace stepwise::runner {
namespace {

PrefixStoreOptions store_options(const PrefixCacheSpec& spec) {
  PrefixStoreOptions options;
  options.memory_bytes = spec.memory_mb << 20;
  options.disk_path = spec.disk_path.value_or("");
  options.chunk_tokens = spec.chunk_tokens;
  return options;
}

}  // namespace

ExperimentPrefixCache::ExperimentPrefixCache(const PrefixCacheSpec& spec, const std::string& spec_file) {
  try {
    store_ = std::make_shared<PrefixStore>(store_options(spec));
  } catch (const Error& e) {
    fail(spec_file, ": prefix_cache.disk_path: ", e.what());
  }
}

std::shared_ptr<PrefixReuse> ExperimentPrefixCache::reuse_for(const std::string& name, const Transformer& model) {
  auto found = reuse_.find(name);
  if (found != reuse_.end()) return found->second;
  auto reuse = std::make_shared<PrefixReuse>(store_, model_identity(model), model.dtype());
  reuse_.emplace(name, reuse);
  return reuse;
}

std::string ExperimentPrefixCache::stats_line() const {
  const PrefixStoreStats stats = store_->stats();
  std::ostringstream out;
  out << "prefix cache: " << stats.memory_hits << " memory hits, " << stats.disk_hits << " disk hits, " << stats.misses
      << " misses, " << stats.inserts << " entries stored";
  if (!store_->options().disk_path.empty()) out << " (" << stats.disk_writes << " written to disk)";
  out << ", " << stats.torn << " torn";
  return out.str();
}

std::string describe_prefix_cache(const std::optional<PrefixCacheSpec>& spec) {
  if (!spec) return "prefix cache: none (every prompt is prefilled in full)";
  std::ostringstream out;
  out << "prefix cache: " << spec->memory_mb << " MiB in memory, " << spec->chunk_tokens << "-token chunks, ";
  if (spec->disk_path) {
    std::error_code error;
    const bool exists = std::filesystem::exists(*spec->disk_path, error);
    out << "disk tier " << *spec->disk_path << (exists ? " (exists)" : " (will be created)");
  } else {
    out << "no disk tier";
  }
  return out.str();
}

}  // namespace stepwise::runner
