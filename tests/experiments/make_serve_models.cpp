// Writes the tiny random models the `stepwise serve` tests run on, each with the real Qwen3 tokenizer
// (tokenizer.json and tokenizer_config.json, whose chat template the server renders): OUT/ar (causal),
// OUT/draft (a second causal model, the speculative draft) and OUT/diffusion (bidirectional, with a mask
// token). Usage: make_serve_models OUT TOKENIZER_DIR.
#include <filesystem>
#include <iostream>

#include "core/tokenizer/bpe_tokenizer.h"
#include "models/checkpoint.h"
#include "tests/support/tiny_model.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_serve_models OUT TOKENIZER_DIR (holding tokenizer.json and tokenizer_config.json)\n";
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path tokenizer_dir = argv[2];
  const auto tokenizer = stepwise::BpeTokenizer::from_file((tokenizer_dir / "tokenizer.json").string());
  const int64_t eos = *tokenizer.token_id("<|endoftext|>");
  const int64_t im_end = *tokenizer.token_id("<|im_end|>");
  struct Made {
    const char* name;
    uint64_t seed;
    bool diffusion;
  };
  for (const Made& made : {Made{"ar", 3, false}, Made{"draft", 5, false}, Made{"diffusion", 7, true}}) {
    stepwise::TransformerConfig config =
        stepwise::testing::tiny_model_config(tokenizer.vocab_size(), 32, 2, 256);
    config.tie_word_embeddings = false;  // tied random embeddings tend to repeat one token
    config.eos_token_ids = {eos, im_end};
    if (made.diffusion) {
      config.bidirectional = true;
      config.mask_token_id = *tokenizer.token_id("<|fim_pad|>");
      config.pad_token_id = eos;
    }
    const fs::path dir = out / made.name;
    fs::create_directories(dir);
    stepwise::save_checkpoint(*stepwise::random_transformer(config, made.seed), dir.string());
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(tokenizer_dir / file, dir / file, fs::copy_options::overwrite_existing);
  }
  return 0;
}
