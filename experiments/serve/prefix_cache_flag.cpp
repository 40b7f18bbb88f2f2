// Reading --prefix-cache KEY=VALUE,... into a PrefixCacheSpec.
#include "experiments/serve/prefix_cache_flag.h"

#include "core/error.h"
#include "experiments/terminal/cli_args.h"

namespace stepwise::serve {

runner::PrefixCacheSpec parse_prefix_cache_flag(const std::string& text) {
  constexpr int64_t kMaxMemoryMb = int64_t{1} << 20;
  runner::PrefixCacheSpec spec;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    check(eq != std::string::npos && eq > 0, "--prefix-cache: expected KEY=VALUE entries separated by commas, got '",
          item, "'");
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (key == "memory_mb") {
      spec.memory_mb = parse_int(value, "--prefix-cache memory_mb");
      check(spec.memory_mb >= 0 && spec.memory_mb <= kMaxMemoryMb, "--prefix-cache memory_mb: expected 0 to ",
            kMaxMemoryMb, ", got ", spec.memory_mb);
    } else if (key == "disk_path") {
      check(!value.empty(), "--prefix-cache disk_path: expected a directory path");
      spec.disk_path = value;
    } else if (key == "chunk_tokens") {
      spec.chunk_tokens = parse_int(value, "--prefix-cache chunk_tokens");
      check(spec.chunk_tokens >= 1 && spec.chunk_tokens <= 65536, "--prefix-cache chunk_tokens: expected 1 to 65536, got ",
            spec.chunk_tokens);
    } else {
      fail("--prefix-cache: unknown key '", key, "' (expected memory_mb, disk_path, chunk_tokens)");
    }
  }
  return spec;
}

}  // namespace stepwise::serve
