// The subcommands of the `stepwise` executable. Each takes the arguments after its name and returns
// the process exit code; stepwise::Error escaping a command is reported by main() with exit code 2.
// The table in stepwise_main.cpp is the one place that lists them.
#pragma once

#include <string>
#include <vector>

namespace stepwise::cli {

using Args = std::vector<std::string>;

int run_inspect(const Args& args);
int run_logits(const Args& args);
int run_generate(const Args& args);
int run_data(const Args& args);
int run_score(const Args& args);
int run_tokenize(const Args& args);
int run_train(const Args& args);
int run_cache(const Args& args);
int run_kernels(const Args& args);
int run_convert(const Args& args);
int run_quantize(const Args& args);
int run_serve(const Args& args);  // experiments/serve/serve_command.cpp

}  // namespace stepwise::cli
