// `stepwise cache stats|clear --path DIR`: look into or empty the disk tier of a prefix store (the
// directory an experiment's prefix_cache.disk_path names; core/prefix_store/kv_disk_tier.h). `stats` counts entries,
// tokens and bytes, unfinished writes and damaged entries, and entries per model identity and dtype;
// `clear` removes every entry and unfinished write the store wrote (by its naming, never through a link)
// and keeps the directory a store.
#include <cstdio>
#include <iostream>
#include <string>

#include "experiments/terminal/cli_args.h"
#include "core/error.h"
#include "core/prefix_store/kv_disk_tier.h"
#include "core/prefix_store/kv_store_clear.h"
#include "experiments/cli/commands.h"

namespace stepwise::cli {
namespace {

constexpr char kUsage[] = "stepwise cache stats --path DIR [--verify]\n       stepwise cache clear --path DIR";

// "1536 (1.5 KiB)": bytes, and in binary units from a KiB up.
std::string bytes_text(int64_t bytes) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  std::string text = std::to_string(bytes);
  if (bytes < 1024) return text;
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  char human[32];
  std::snprintf(human, sizeof human, " (%.1f %s)", value, units[unit]);
  return text + human;
}

int run_stats(const Args& args) {
  ArgParser parser("stepwise cache stats --path DIR [--verify]",
                   "Describe a prefix store directory (an experiment's prefix_cache.disk_path): entries, tokens,\n"
                   "bytes, temporary files of unfinished writes, torn (damaged) entries, and entries per model\n"
                   "identity and dtype. Every entry is parsed and its shapes checked; --verify also checks checksums.");
  parser.add_option("path", "DIR", "the store directory");
  parser.add_switch("verify", "check every entry's checksum too (reads all the stored keys and values)");
  if (!parser.parse(args)) return 0;
  const std::string path = parser.get("path");
  const bool verify = parser.get_switch("verify");
  const KvStoreReport report = scan_kv_store(path, verify);
  std::cout << "store:            " << path << "\n"
            << "entries:          " << report.entries << "\n"
            << "tokens:           " << report.tokens << "\n"
            << "bytes:            " << bytes_text(report.bytes) << "\n"
            << "temporary files:  " << report.temporary_files << " (unfinished writes)\n"
            << "torn entries:     " << report.torn
            << (verify ? " (headers and checksums checked)" : " (headers checked; --verify also checks checksums)")
            << "\n";
  if (!report.entries_by_label.empty()) {
    std::cout << "entries per model and dtype:\n";
    for (const auto& [label, count] : report.entries_by_label) std::cout << "  " << label << "  " << count << "\n";
  }
  return 0;
}

int run_clear(const Args& args) {
  ArgParser parser("stepwise cache clear --path DIR",
                   "Remove every entry and unfinished write of a prefix store directory, found by the store's own\n"
                   "file naming. The directory stays a store (its marker file is kept); files, folders and links the\n"
                   "store did not write are left in place and counted, links are never followed; other directories\n"
                   "are refused.");
  parser.add_option("path", "DIR", "the store directory");
  if (!parser.parse(args)) return 0;
  const std::string path = parser.get("path");
  const KvClearReport report = clear_kv_store_files(path);
  std::cout << "removed " << report.removed << " file" << (report.removed == 1 ? "" : "s") << " from " << path;
  if (report.left > 0)
    std::cout << "; left " << report.left << " item" << (report.left == 1 ? "" : "s")
              << " the store did not write (other files, folders or links)";
  std::cout << "\n";
  return 0;
}

}  // namespace

int run_cache(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: " << kUsage << "\n\n"
              << "Inspect or empty the disk tier of a prefix store (prefix_cache.disk_path in an experiment file).\n"
              << "  stats   entries, tokens, bytes, unfinished writes, torn entries, entries per model and dtype\n"
              << "  clear   remove every entry and unfinished write\n"
              << "stepwise cache stats --help and stepwise cache clear --help list their flags.\n";
    return 0;
  }
  check(!args.empty(), "missing the action: stepwise cache stats|clear --path DIR (see stepwise cache --help)");
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "stats") return run_stats(rest);
  if (args[0] == "clear") return run_clear(rest);
  fail("unknown cache action '", args[0], "' (expected stats or clear)");
}

}  // namespace stepwise::cli
