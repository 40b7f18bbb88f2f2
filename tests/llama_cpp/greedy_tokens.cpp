// Greedy decoding with llama.cpp itself, for checking that GGUF files written by stepwise run there:
// loads FILE.gguf, feeds the prompt ids, and appends the argmax token N times, printing the generated
// ids as a JSON list. Built against llama.cpp's headers and libraries by tests/llama_cpp/check.sh (not
// part of the CMake build: llama.cpp is not a dependency of stepwise).
//   greedy_tokens BACKEND_DIR FILE.gguf N ID[,ID...]
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: greedy_tokens BACKEND_DIR FILE.gguf N ID[,ID...]\n");
    return 2;
  }
  ggml_backend_load_all_from_path(argv[1]);
  llama_backend_init();
  llama_model_params model_params = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[2], model_params);
  if (model == nullptr) {
    std::fprintf(stderr, "llama.cpp could not load %s\n", argv[2]);
    return 1;
  }
  std::vector<llama_token> tokens;
  std::stringstream ids(argv[4]);
  for (std::string id; std::getline(ids, id, ',');) tokens.push_back(static_cast<llama_token>(std::stoi(id)));
  const int steps = std::atoi(argv[3]);
  llama_context_params context_params = llama_context_default_params();
  context_params.n_ctx = static_cast<uint32_t>(tokens.size() + steps + 8);
  context_params.n_batch = context_params.n_ctx;
  context_params.n_threads = 1;
  context_params.n_threads_batch = 1;
  llama_context* context = llama_init_from_model(model, context_params);
  if (context == nullptr) {
    std::fprintf(stderr, "llama.cpp could not create a context\n");
    return 1;
  }
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::vector<llama_token> pending = tokens;
  std::printf("[");
  for (int step = 0; step < steps; ++step) {
    if (llama_decode(context, llama_batch_get_one(pending.data(), static_cast<int32_t>(pending.size()))) != 0) {
      std::fprintf(stderr, "llama_decode failed\n");
      return 1;
    }
    const float* logits = llama_get_logits_ith(context, -1);
    int best = 0;
    for (int t = 1; t < vocab; ++t)
      if (logits[t] > logits[best]) best = t;
    std::printf("%s%d", step ? ", " : "", best);
    pending.assign(1, best);
  }
  std::printf("]\n");
  llama_free(context);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
