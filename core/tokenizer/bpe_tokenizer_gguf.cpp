// GGUF tokenizer keys <-> the tokenizer.json pieces BpeTokenizer::from_parts takes. The pre-tokenizer
// names are llama.cpp's (llama-vocab.cpp); each maps to the split pattern and normalizer of the Hugging
// Face tokenizers converted under that name.
#include "core/tokenizer/bpe_tokenizer_gguf.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/json_input.h"
#include "core/regular_file.h"

namespace stepwise {
namespace {

using Json = nlohmann::json;

struct PreTokenizer {
  const char* name;     // written as tokenizer.ggml.pre
  const char* pattern;  // the Split regex of the Hugging Face pre-tokenizer
  bool nfc;             // the Hugging Face normalizer is NFC
};

// Qwen2 / Qwen2.5 / Qwen3, LLaMA-3, GPT-2.
const PreTokenizer kPreTokenizers[] = {
    {"qwen2",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
     "\\s+(?!\\S)|\\s+",
     true},
    {"llama-bpe",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
     "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     false},
    {"gpt-2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", false},
};

// llama.cpp's other names for the same pre-tokenizers.
const PreTokenizer* pre_tokenizer_named(const std::string& name) {
  std::string canonical = name;
  if (name == "deepseek-r1-qwen") canonical = "qwen2";
  if (name == "llama3" || name == "llama-v3") canonical = "llama-bpe";
  for (const auto& p : kPreTokenizers)
    if (canonical == p.name) return &p;
  return nullptr;
}

Json byte_level() {
  return Json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
}

// The split pattern of a tokenizer.json pre-tokenizer: a Split step (alone or in a Sequence), or the
// GPT-2 pattern of a ByteLevel step with use_regex.
std::optional<std::string> split_pattern(const Json& pre) {
  if (!pre.is_object()) return std::nullopt;
  const std::string type = pre.value("type", std::string());
  if (type == "Split" && pre.contains("pattern") && pre["pattern"].is_object() && pre["pattern"].contains("Regex") &&
      pre["pattern"]["Regex"].is_string())
    return pre["pattern"]["Regex"].get<std::string>();
  if (type == "ByteLevel" && pre.value("use_regex", true)) return std::string(kPreTokenizers[2].pattern);
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& step : pre["pretokenizers"])
      if (auto pattern = split_pattern(step)) return pattern;
  }
  return std::nullopt;
}

}  // namespace

bool gguf_has_tokenizer(const GgufFile& file) {
  const auto model = file.optional_string("tokenizer.ggml.model");
  return model && *model != "none" && *model != "no_vocab";
}

namespace {

// The file's tokenizer as the pieces of a tokenizer.json: the tree without model.vocab and model.merges,
// the vocabulary (normal tokens) and the merges.
struct GgufTokenizerParts {
  Json config;
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
};

GgufTokenizerParts read_gguf_tokenizer(const GgufFile& file) {
  const std::string& path = file.path();
  const std::string& model = file.string("tokenizer.ggml.model");
  check(model == "gpt2", path, ": key 'tokenizer.ggml.model' = '", model,
        "' is not supported (only gpt2, byte-level BPE)");
  const std::string pre_name = file.optional_string("tokenizer.ggml.pre").value_or("default");
  const PreTokenizer* pre = pre_tokenizer_named(pre_name);
  check(pre != nullptr, path, ": key 'tokenizer.ggml.pre' = '", pre_name,
        "' is not supported (supported: qwen2, deepseek-r1-qwen, llama-bpe, llama3, llama-v3, gpt-2)");

  const std::vector<std::string> tokens = file.string_array("tokenizer.ggml.tokens");
  std::vector<int64_t> types(tokens.size(), static_cast<int64_t>(GgufTokenType::kNormal));
  if (file.has("tokenizer.ggml.token_type")) {
    types = file.integer_array("tokenizer.ggml.token_type");
    check(types.size() == tokens.size(), path, ": key 'tokenizer.ggml.token_type' has ", types.size(),
          " entries for ", tokens.size(), " tokens");
  }
  std::vector<std::pair<std::string, int64_t>> vocab;
  Json added = Json::array();
  for (size_t id = 0; id < tokens.size(); ++id) {
    const auto type = static_cast<GgufTokenType>(types[id]);
    if (type == GgufTokenType::kUnused) continue;
    if (type == GgufTokenType::kControl || type == GgufTokenType::kUserDefined) {
      added.push_back(Json{{"id", id}, {"content", tokens[id]}, {"special", type == GgufTokenType::kControl},
                           {"normalized", false}});
    } else {
      vocab.emplace_back(tokens[id], static_cast<int64_t>(id));
    }
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (file.has("tokenizer.ggml.merges")) {
    const std::vector<std::string> lines = file.string_array("tokenizer.ggml.merges");
    merges.reserve(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      const size_t space = lines[i].find(' ', 1);
      check(space != std::string::npos && space + 1 < lines[i].size(), path, ": key 'tokenizer.ggml.merges' entry ",
            i, " is not two tokens separated by a space");
      merges.emplace_back(lines[i].substr(0, space), lines[i].substr(space + 1));
    }
  }
  Json config = {
      {"model", {{"type", "BPE"}}},
      {"normalizer", pre->nfc ? Json{{"type", "NFC"}} : Json()},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         Json::array({Json{{"type", "Split"}, {"pattern", {{"Regex", pre->pattern}}}, {"behavior", "Isolated"},
                           {"invert", false}},
                      byte_level()})}}},
      {"decoder", byte_level()},
      {"added_tokens", added},
  };
  return GgufTokenizerParts{std::move(config), std::move(vocab), std::move(merges)};
}

}  // namespace

BpeTokenizer bpe_tokenizer_from_gguf(const GgufFile& file) {
  GgufTokenizerParts parts = read_gguf_tokenizer(file);
  return BpeTokenizer::from_parts(file.path() + " (GGUF tokenizer)", parts.config, std::move(parts.vocab),
                                  std::move(parts.merges));
}

Json gguf_tokenizer_json(const GgufFile& file) {
  GgufTokenizerParts parts = read_gguf_tokenizer(file);
  Json added = Json::array();
  for (const auto& token : parts.config["added_tokens"])
    added.push_back(Json{{"id", token["id"]},
                         {"content", token["content"]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", token["special"]}});
  Json vocab = Json::object();
  for (const auto& [token, id] : parts.vocab) vocab[token] = id;
  Json merges = Json::array();
  for (const auto& [left, right] : parts.merges) merges.push_back(Json::array({left, right}));
  // (nlohmann::json keeps keys sorted; tokenizer.json readers take the keys in any order.)
  return Json{{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", std::move(added)},
              {"normalizer", parts.config["normalizer"]},
              {"pre_tokenizer", parts.config["pre_tokenizer"]},
              {"post_processor", byte_level()},
              {"decoder", parts.config["decoder"]},
              {"model", Json{{"type", "BPE"},
                             {"dropout", nullptr},
                             {"unk_token", nullptr},
                             {"continuing_subword_prefix", ""},
                             {"end_of_word_suffix", ""},
                             {"fuse_unk", false},
                             {"byte_fallback", false},
                             {"ignore_merges", false},
                             {"vocab", std::move(vocab)},
                             {"merges", std::move(merges)}}}};
}

nlohmann::ordered_json gguf_tokenizer_config_json(const GgufFile& file) {
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  const std::vector<std::string> tokens =
      file.has("tokenizer.ggml.tokens") ? file.string_array("tokenizer.ggml.tokens") : std::vector<std::string>();
  for (const auto& [key, name] : {std::pair<const char*, const char*>{"tokenizer.ggml.bos_token_id", "bos_token"},
                                  {"tokenizer.ggml.eos_token_id", "eos_token"},
                                  {"tokenizer.ggml.padding_token_id", "pad_token"}}) {
    const auto id = file.optional_integer(key);
    config[name] = id && *id >= 0 && *id < static_cast<int64_t>(tokens.size()) ? nlohmann::ordered_json(tokens[*id])
                                                                                : nlohmann::ordered_json();
  }
  config["clean_up_tokenization_spaces"] = false;
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (const auto chat_template = file.optional_string("tokenizer.chat_template"))
    config["chat_template"] = *chat_template;
  return config;
}

BpeTokenizer load_bpe_tokenizer(const std::string& path) {
  if (!is_gguf_path(path)) return BpeTokenizer::from_file(path);
  const GgufFile file(path);
  check(gguf_has_tokenizer(file), path, ": the file carries no tokenizer (tokenizer.ggml.model is missing or none)");
  return bpe_tokenizer_from_gguf(file);
}

void add_gguf_tokenizer(GgufWriter& writer, const std::string& path, int64_t vocab_size) {
  Json json;
  if (is_gguf_path(path)) {
    const GgufFile source(path);
    check(gguf_has_tokenizer(source), path, ": the file carries no tokenizer (tokenizer.ggml.model is missing or none)");
    json = gguf_tokenizer_json(source);
  } else {
    json = parse_json_input(read_regular_file(path), path);
  }
  check(json.is_object() && json.contains("model") && json["model"].is_object(), path, ": no model object");
  const Json& model = json["model"];
  check(model.value("type", std::string("BPE")) == "BPE", path, ": model.type is not BPE");
  const std::optional<std::string> pattern = split_pattern(json.value("pre_tokenizer", Json()));
  const Json normalizer = json.value("normalizer", Json());
  const bool nfc = normalizer.is_object() && normalizer.value("type", std::string()) == "NFC";
  check(normalizer.is_null() || nfc, path, ": normalizer ", normalizer.dump(), " has no GGUF equivalent");
  const PreTokenizer* pre = nullptr;
  for (const auto& candidate : kPreTokenizers)
    if (pattern && *pattern == candidate.pattern && nfc == candidate.nfc) pre = &candidate;
  check(pre != nullptr, path, ": the pre-tokenizer (split pattern ", pattern ? *pattern : std::string("none"),
        nfc ? ", NFC" : "", ") is not one GGUF names (qwen2, llama-bpe, gpt-2)");

  std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
  std::vector<int32_t> types(static_cast<size_t>(vocab_size), static_cast<int32_t>(GgufTokenType::kUnused));
  auto place = [&](int64_t id, const std::string& token, GgufTokenType type, const std::string& where) {
    check(id >= 0 && id < vocab_size, path, ": ", where, " id ", id, " is outside the model's vocabulary of ",
          vocab_size);
    tokens[static_cast<size_t>(id)] = token;
    types[static_cast<size_t>(id)] = static_cast<int32_t>(type);
  };
  check(model.contains("vocab") && model["vocab"].is_object(), path, ": model.vocab is not an object");
  for (const auto& [token, id] : model["vocab"].items()) {
    check(id.is_number_integer(), path, ": model.vocab[\"", token, "\"] is not an integer");
    place(id.get<int64_t>(), token, GgufTokenType::kNormal, "model.vocab[\"" + token + "\"]");
  }
  for (const auto& entry : json.value("added_tokens", Json::array())) {
    check(entry.is_object() && entry.contains("id") && entry["id"].is_number_integer() && entry.contains("content") &&
              entry["content"].is_string(),
          path, ": an added_tokens entry lacks an integer id or a content string");
    place(entry["id"].get<int64_t>(), entry["content"].get<std::string>(),
          entry.value("special", false) ? GgufTokenType::kControl : GgufTokenType::kUserDefined, "added token");
  }
  for (size_t id = 0; id < tokens.size(); ++id)
    if (types[id] == static_cast<int32_t>(GgufTokenType::kUnused)) tokens[id] = "[PAD" + std::to_string(id) + "]";

  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const auto& merge : model["merges"]) {
      if (merge.is_string()) merges.push_back(merge.get<std::string>());
      else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
        merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      else fail(path, ": a model.merges entry is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  writer.add_string("tokenizer.ggml.model", "gpt2");
  writer.add_string("tokenizer.ggml.pre", pre->name);
  writer.add_string_array("tokenizer.ggml.tokens", tokens);
  writer.add_int32_array("tokenizer.ggml.token_type", types);
  writer.add_string_array("tokenizer.ggml.merges", merges);
}

}  // namespace stepwise
