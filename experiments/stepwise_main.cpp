// `stepwise`: one-off use of the framework from the shell (inspect checkpoints, print logits,
// generate with any decoder, tokenize, make and score task data, look into a prefix store). Dispatches
// to cli/ commands.
#include <c10/util/Exception.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor/runtime.h"
#include "experiments/cli/commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const stepwise::cli::Args&);
};

const Command kCommands[] = {
    {"inspect", "describe a checkpoint: architecture, sizes, parameters, dtype", stepwise::cli::run_inspect},
    {"logits", "print raw logits of a token sequence as JSON", stepwise::cli::run_logits},
    {"generate", "decode a prompt with any decoder (ar, speculative, dream, llada) as JSON",
     stepwise::cli::run_generate},
    {"data", "generate Sudoku / Countdown problems with solutions as JSONL", stepwise::cli::run_data},
    {"score", "score predictions against task data with a named metric", stepwise::cli::run_score},
    {"tokenize", "encode text to token ids or decode ids with a tokenizer.json", stepwise::cli::run_tokenize},
    {"train", "train a small AR or diffusion model on generated Sudoku / Countdown", stepwise::cli::run_train},
    {"cache", "prefix store on disk: stats (entries, bytes, damage) or clear", stepwise::cli::run_cache},
    {"kernels", "list the matrix-product kernel paths this CPU can run (STEPWISE_KERNELS)", stepwise::cli::run_kernels},
    {"convert", "write a checkpoint as GGUF (f32, f16, bf16, q8_0, q4_0) or as a Hugging Face directory",
     stepwise::cli::run_convert},
    {"quantize", "quantize a checkpoint to 4 or 8 bits (rtn, autoround) in the GPTQ layout", stepwise::cli::run_quantize},
    {"serve", "serve the model over an OpenAI-compatible HTTP API (completions, chat, streaming)",
     stepwise::cli::run_serve},
};

void print_usage(std::ostream& out) {
  out << "usage: stepwise COMMAND [FLAGS]   (stepwise COMMAND --help for its flags)\n\ncommands:\n";
  for (const auto& command : kCommands) {
    std::string name = command.name;
    out << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << command.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  stepwise::relaunch_with_quiet_thread_pools(argv);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& command : kCommands) {
    if (name != command.name) continue;
    try {
      return command.run(args);
    } catch (const stepwise::Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    } catch (const c10::Error& e) {
      std::cerr << "error: " << e.what_without_backtrace() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    }
  }
  std::cerr << "error: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return 2;
}
