// Shared helpers of the libFuzzer targets: a per-process scratch directory for parsers that read files,
// writing an input there, and FUZZ_EXPECT for properties that must hold (a violation aborts, which
// libFuzzer reports as a crash and the replay driver as a failed test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace stepwise::fuzz {

// A directory private to this process (under $TMPDIR, else /tmp), removed at exit.
const std::string& scratch_dir();
// Writes `size` bytes to `path` (replacing it); aborts when that fails, since the target cannot run.
void write_bytes(const std::string& path, const uint8_t* data, size_t size);
void write_text(const std::string& path, const std::string& text);
// Removes everything inside `dir` (not `dir` itself).
void clear_dir(const std::string& dir);

[[noreturn]] inline void property_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n", file, line, condition);
  std::abort();
}

}  // namespace stepwise::fuzz

#define FUZZ_EXPECT(condition) \
  ((condition) ? (void)0 : ::stepwise::fuzz::property_failed(#condition, __FILE__, __LINE__))
