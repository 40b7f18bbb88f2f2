// The experiment's prefix store (`prefix_cache:` in the spec): one PrefixStore shared by every run,
// and per model one PrefixReuse bound to that model's identity and dtype, so prompt KV computed by one
// batch or run serves later ones of the same model (and, through the disk tier, later experiments).
// Which decoders use it is decoder_factory.h's concern.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/prefix_store/prefix_store.h"
#include "experiments/runner/experiment_spec.h"

namespace stepwise {
class PrefixReuse;
class Transformer;
}  // namespace stepwise

namespace stepwise::runner {

class ExperimentPrefixCache {
 public:
  // Opens (creating when absent) the disk tier; throws stepwise::Error naming the spec file when the
  // directory cannot be used as a store.
  ExperimentPrefixCache(const PrefixCacheSpec& spec, const std::string& spec_file);

  // The reuse of model `name`; its identity is hashed from `model` on first use (reads every weight once).
  std::shared_ptr<PrefixReuse> reuse_for(const std::string& name, const Transformer& model);

  // "prefix cache: 3 memory hits, 0 disk hits, 5 misses, 5 entries stored (5 written to disk), 0 torn"
  std::string stats_line() const;

 private:
  std::shared_ptr<PrefixStore> store_;
  std::map<std::string, std::shared_ptr<PrefixReuse>> reuse_;  // by model name
};

// One line for --dry-run: the settings, or that there is no prefix cache.
std::string describe_prefix_cache(const std::optional<PrefixCacheSpec>& spec);

}  // namespace stepwise::runner
