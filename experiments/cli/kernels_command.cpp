// `stepwise kernels`: the project's own matrix-product kernel paths (core/kernels) this CPU can execute,
// one name per line, slowest first; the last one is what runs unless STEPWISE_KERNELS names another.
// scripts/test_portability.sh runs the numeric tests once per listed name.
#include <iostream>

#include "experiments/terminal/cli_args.h"
#include "core/kernels/kernels.h"
#include "experiments/cli/commands.h"

namespace stepwise::cli {

int run_kernels(const Args& args) {
  ArgParser parser("stepwise kernels",
                   "List the kernel paths of core/kernels (bfloat16 / int8 / int4 skinny products) this CPU can\n"
                   "execute, one per line, slowest first: reference, avx2 (AVX2 + FMA), avx512 (AVX512F/BW/VL +\n"
                   "AVX512-BF16). The last is the default; STEPWISE_KERNELS=NAME forces one.");
  if (!parser.parse(args)) return 0;
  for (kernels::Isa isa : kernels::supported_isas()) std::cout << kernels::isa_name(isa) << "\n";
  return 0;
}

}  // namespace stepwise::cli
