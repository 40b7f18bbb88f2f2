// Writes the decoding benchmarks' Qwen2.5-0.5B-shape model (random weights, bfloat16, the seed
// bench_decode uses) as a Hugging Face checkpoint, so other programs (stepwise convert, llama.cpp)
// can run the same shape: bench/compare_llama_cpp.sh converts it to GGUF for llama-bench.
//   write_bench_model OUT_DIR
#include <iostream>

#include "bench/bench_common.h"
#include "core/error.h"
#include "models/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_bench_model OUT_DIR\n";
    return 2;
  }
  try {
    const auto model = stepwise::random_transformer(stepwise::bench::qwen25_05b_config(), /*seed=*/0,
                                                    {torch::kBFloat16, torch::kCPU});
    stepwise::save_checkpoint(*model, argv[1]);
    std::cout << argv[1] << ": " << model->parameter_count() << " parameters\n";
  } catch (const stepwise::Error& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 2;
  }
  return 0;
}
