// `--prefix-cache memory_mb=N,disk_path=DIR,chunk_tokens=N`: the prefix store of `stepwise serve`, with
// the keys and bounds of an experiment file's prefix_cache block. Torch-free.
#pragma once

#include <string>

#include "experiments/runner/experiment_spec.h"

namespace stepwise::serve {

// Throws stepwise::Error naming the flag and the key.
runner::PrefixCacheSpec parse_prefix_cache_flag(const std::string& text);

}  // namespace stepwise::serve
