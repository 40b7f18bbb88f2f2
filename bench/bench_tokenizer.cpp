// Google Benchmark suite of the byte-level BPE tokenizer: encode throughput (bytes/s) on a large mixed text
// built deterministically in code (prose, code, numbers, CJK, emoji, whitespace runs), with a warm and a cold
// merge cache, short prompts, and decode. Extra flags: --tokenizer=PATH (default: $STEPWISE_TOKENIZER, then
// .cache/qwen3/tokenizer.json), --text-mib=N, --write-text=PATH and --write-ids=PATH (one id per line) so that
// bench/tokenizer_vs_js.sh can encode the same text with the reference JS encoder and compare.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/error.h"

namespace {

using stepwise::BpeTokenizer;

// splitmix64: the explicit generator every choice of the text comes from.
class TextRandom {
 public:
  explicit TextRandom(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  uint64_t state_;
};

std::vector<std::string> split_on_spaces(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

// What the text is made of.
struct Material {
  std::vector<std::string> words = split_on_spaces(
      "the of and to in is that for it as was with be by on not he this are or his from at which but have an had "
      "they you were their one all we can her has there been if more when will would who so no model diffusion "
      "token decoding sequence parallel sampling schedule attention transformer cache language research benchmark "
      "latency quality planning sudoku countdown gradient entropy confidence mask remasking throughput "
      "autoregressive speculative draft verify accept reject probability distribution temperature experiment "
      "configuration checkpoint evaluation surprisingly nevertheless understanding approximately characteristics "
      "internationalization re-ranking state-of-the-art don't it's we'll they're I've she'd CAN'T Naïve café "
      "coöperate façade jalapeño Zürich São Ελληνικά русский язык العربية עברית हिन्दी");
  std::vector<std::string> identifiers = split_on_spaces(
      "x i n idx buffer tokens logits kv_cache numSteps maskTokenId blockLength self config std::vector<int64_t> "
      "torch::Tensor result value_");
  std::vector<std::string> cjk = split_on_spaces(
      "我们 研究 扩散 模型 自回归 解码 语言 的 在 是 一个 并行 生成 速度 质量 实验 结果 表明 ， 。 、 （ ） 日本語 の "
      "テキスト を トークン 化 します カタカナ ひらがな 한국어 토큰 화 는 모델 입니다 「 」 ： ！");
  std::vector<std::string> emoji = split_on_spaces(
      "🙂 🚀 🎉 👍 🔥 ✅ ❤️ 😂 🤖 📈 👩‍💻 👨‍👩‍👧 🇫🇷 🇯🇵 👍🏽 🧪 ⚡ 🌍 ✨ "
      "🙏");
  std::vector<std::string> spaces = {" ",    "  ",     "   ", "    ",      "\t",   "\t\t",     "\n",
                                     "\n\n", "\n\n\n", " \n", "   \n\n  ", "\r\n", "        ", " \t "};
};

void append_number(TextRandom& random, std::string& out) {
  switch (random.below(6)) {
    case 0:
      out += std::to_string(random.below(100));
      break;
    case 1:
      out += std::to_string(random.below(1000000));
      break;
    case 2:
      out += std::to_string(random.below(10000)) + "." + std::to_string(random.below(1000));
      break;
    case 3:
      out += "20" + std::to_string(10 + random.below(20)) + "-0" + std::to_string(1 + random.below(9)) + "-1" +
             std::to_string(random.below(10));
      break;
    case 4:
      out += std::to_string(random.below(1000)) + "," + std::to_string(100 + random.below(900));
      break;
    default:
      out += "0x" + std::to_string(random.below(9)) + "F" + std::to_string(random.below(99)) + "A";
      break;
  }
}

void append_prose(const Material& m, TextRandom& random, std::string& out) {
  const size_t sentences = 2 + random.below(6);
  for (size_t s = 0; s < sentences; ++s) {
    const size_t words = 4 + random.below(18);
    for (size_t w = 0; w < words; ++w) {
      std::string word = random.pick(m.words);
      if (w == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 'a' + 'A');
      if (w > 0) out += ' ';
      if (random.below(25) == 0) {
        append_number(random, out);
        out += ' ';
      }
      out += random.below(40) == 0 ? "\"" + word + "\"" : word;
      if (w + 1 < words && random.below(12) == 0) out += random.below(2) ? "," : ";";
    }
    out += random.pick(std::vector<std::string>{".", ".", ".", "!", "?", "...", ":"});
    out += random.below(5) == 0 ? "\n" : " ";
  }
  out += "\n\n";
}

void append_code(const Material& m, TextRandom& random, std::string& out) {
  const size_t lines = 3 + random.below(10);
  for (size_t l = 0; l < lines; ++l) {
    out += std::string(4 * random.below(4), ' ');
    switch (random.below(5)) {
      case 0:
        out += "for (int " + random.pick(m.identifiers) + " = 0; i < " + std::to_string(random.below(512)) + "; ++i) {";
        break;
      case 1:
        out += random.pick(m.identifiers) + " = " + random.pick(m.identifiers) + "[" +
               std::to_string(random.below(64)) + "] * " + std::to_string(random.below(100)) + ".5f;  // " +
               random.pick(m.words);
        break;
      case 2:
        out += "def " + random.pick(m.identifiers) + "(" + random.pick(m.identifiers) + ", **kwargs):";
        break;
      case 3:
        out += "return {\"" + random.pick(m.words) + "\": " + std::to_string(random.below(10000)) + ", 'ok': True}";
        break;
      default:
        out += "if (" + random.pick(m.identifiers) + " != nullptr && x->size() >= 0x" +
               std::to_string(random.below(100)) + ") { throw Error(\"bad\"); }";
        break;
    }
    out += random.below(8) == 0 ? "  \n" : "\n";
  }
  out += "\n";
}

void append_cjk(const Material& m, TextRandom& random, std::string& out) {
  const size_t pieces = 5 + random.below(40);
  for (size_t p = 0; p < pieces; ++p) {
    out += random.pick(m.cjk);
    if (random.below(15) == 0) append_number(random, out);
  }
  out += "\n";
}

void append_emoji_and_spaces(const Material& m, TextRandom& random, std::string& out) {
  const size_t pieces = 3 + random.below(12);
  for (size_t p = 0; p < pieces; ++p) {
    switch (random.below(3)) {
      case 0:
        out += random.pick(m.emoji);
        break;
      case 1:
        out += random.pick(m.spaces);
        break;
      default:
        out += random.pick(m.words);
        break;
    }
  }
  out += random.pick(m.spaces);
}

// About `bytes` of mixed text, the same on every run and machine.
std::string build_text(size_t bytes) {
  const Material material;
  TextRandom random(20240517);
  std::string out;
  out.reserve(bytes + 4096);
  while (out.size() < bytes) {
    const size_t kind = random.below(10);
    if (kind < 4) {
      append_prose(material, random, out);
    } else if (kind < 6) {
      append_code(material, random, out);
    } else if (kind < 8) {
      append_cjk(material, random, out);
    } else if (kind < 9) {
      append_emoji_and_spaces(material, random, out);
    } else {
      for (int i = 0; i < 8; ++i) {
        append_number(random, out);
        out += random.pick(material.spaces);
      }
    }
  }
  return out;
}

// Removes `--name=VALUE` from argv (before Google Benchmark sees the flags) and returns VALUE.
std::string take_flag(int& argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  std::string value = fallback;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) {
      value = arg.substr(prefix.size());
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return value;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  stepwise::check(static_cast<bool>(out), "cannot write '", path, "'");
}

int run(int argc, char** argv) {
  const char* env_path = std::getenv("STEPWISE_TOKENIZER");
  const std::string path = take_flag(argc, argv, "tokenizer", env_path ? env_path : STEPWISE_DEFAULT_TOKENIZER);
  const std::string text_mib = take_flag(argc, argv, "text-mib", "4");
  const std::string text_path = take_flag(argc, argv, "write-text", "");
  const std::string ids_path = take_flag(argc, argv, "write-ids", "");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  const BpeTokenizer tokenizer = BpeTokenizer::from_file(path);
  const std::string text = build_text(static_cast<size_t>(std::stod(text_mib) * 1024 * 1024));
  const std::vector<int64_t> ids = tokenizer.encode(text);  // also warms the merge cache
  stepwise::check(tokenizer.decode(ids) == text, "the benchmark text does not round-trip");
  if (!text_path.empty()) write_file(text_path, text);
  if (!ids_path.empty()) {
    std::string lines;
    for (int64_t id : ids) lines += std::to_string(id) + "\n";
    write_file(ids_path, lines);
  }
  const std::string prompt = text.substr(0, 300);

  benchmark::RegisterBenchmark("encode_warm", [&](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(tokenizer.encode(text));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["tokens"] = static_cast<double>(ids.size());
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("encode_cold_cache",
                               [&](benchmark::State& state) {
                                 std::optional<BpeTokenizer> fresh;
                                 for (auto _ : state) {
                                   state.PauseTiming();  // loading (and freeing the previous copy) is not timed
                                   fresh.reset();
                                   fresh.emplace(BpeTokenizer::from_file(path));
                                   state.ResumeTiming();
                                   benchmark::DoNotOptimize(fresh->encode(text));
                                 }
                                 state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
                               })
      ->Unit(benchmark::kMillisecond)
      ->Iterations(3);
  benchmark::RegisterBenchmark("encode_prompt_300B", [&](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(tokenizer.encode(prompt));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * prompt.size()));
  });
  benchmark::RegisterBenchmark("decode", [&](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(tokenizer.decode(ids));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  })->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
