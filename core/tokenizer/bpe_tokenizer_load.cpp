// Reading a Hugging Face tokenizer.json into a BpeTokenizer: one SAX pass that keeps the two large tables
// (model.vocab, model.merges) out of the JSON tree, then validation of every piece the encoder relies on.
// Unsupported kinds are refused here, each error naming the file and the JSON path of the piece.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/bpe_tokenizer_state.h"
#include "core/error.h"
#include "core/json_input.h"

namespace stepwise {
namespace {

using Json = nlohmann::json;

// Ids index dense tables (id -> bytes, id -> kind), so an id far above the number of tokens the file
// defines would size them by an unchecked field. Real vocabularies leave few ids unused.
constexpr int64_t kMaxUnusedIds = int64_t{1} << 16;

// The file as read: every setting as a JSON tree, the vocabulary and the merges as flat lists.
struct TokenizerFile {
  Json config;  // without model.vocab and model.merges
  bool has_vocab = false;
  bool has_merges = false;
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  std::string problem;  // the first malformed vocab or merges entry
};

// SAX handler building TokenizerFile. Containers are trees except model.vocab (an object of ids) and
// model.merges (a list of "a b" strings or ["a", "b"] pairs), which go straight into the flat lists.
class TokenizerFileReader final : public nlohmann::json_sax<Json> {
 public:
  explicit TokenizerFileReader(TokenizerFile& file) : file_(file) {}
  // Why parsing stopped: a syntax error or nesting deeper than kMaxJsonDepth.
  const std::string& syntax_error() const { return syntax_error_; }

  bool null() override { return add(Json()); }
  bool boolean(bool value) override { return add(Json(value)); }
  bool number_integer(number_integer_t value) override { return add(Json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return add(Json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return add(Json(value)); }
  bool binary(binary_t&) override { return add(Json()); }
  bool string(string_t& value) override {
    if (!stack_.empty() && stack_.back().place == Place::kMerges) {
      add_merge_string(value);
      return true;
    }
    if (!stack_.empty() && stack_.back().place == Place::kMergePair) {
      stack_.back().parts.push_back(std::move(value));
      return true;
    }
    return add(Json(std::move(value)));
  }
  bool key(string_t& name) override {
    stack_.back().key = std::move(name);
    return true;
  }
  bool start_object(std::size_t) override { return open(/*is_object=*/true); }
  bool start_array(std::size_t) override { return open(/*is_object=*/false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const Json::exception& error) override {
    syntax_error_ = std::string("not valid JSON: ") + error.what();
    return false;
  }

 private:
  enum class Place { kTree, kVocab, kMerges, kMergePair, kIgnored };
  struct Frame {
    Json value;
    std::string key;  // of the member being read, in objects
    Place place;
    std::vector<std::string> parts;  // kMergePair: the strings so far
    bool bad = false;                // kMergePair: held something other than a string
  };

  void note(const std::string& problem) {
    if (file_.problem.empty()) file_.problem = problem;
  }
  std::string merge_where() const { return "model.merges[" + std::to_string(merge_index_) + "]"; }

  void add_merge_string(const std::string& text) {
    const size_t space = text.find(' ');
    if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
      note(merge_where() + " '" + text + "' is not two tokens separated by one space");
    } else {
      file_.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    }
    ++merge_index_;
  }

  bool add(Json value) {
    if (stack_.empty()) {
      file_.config = std::move(value);
      return true;
    }
    Frame& top = stack_.back();
    switch (top.place) {
      case Place::kTree:
        if (top.value.is_object()) {
          top.value[top.key] = std::move(value);
        } else {
          top.value.push_back(std::move(value));
        }
        break;
      case Place::kVocab:
        if (value.is_number_integer()) {
          file_.vocab.emplace_back(std::move(top.key), value.get<int64_t>());
        } else {
          note("model.vocab[\"" + top.key + "\"] must be an integer id");
        }
        break;
      case Place::kMerges:
        note(merge_where() + " must be \"a b\" or [\"a\", \"b\"]");
        ++merge_index_;
        break;
      case Place::kMergePair:
        top.bad = true;
        break;
      case Place::kIgnored:
        break;
    }
    return true;
  }

  bool open(bool is_object) {
    if (stack_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
      syntax_error_ = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    Place place = Place::kTree;
    if (!stack_.empty()) {
      Frame& parent = stack_.back();
      if (parent.place == Place::kMerges && !is_object) {
        place = Place::kMergePair;
      } else if (parent.place != Place::kTree) {
        place = Place::kIgnored;
        if (parent.place == Place::kVocab) note("model.vocab[\"" + parent.key + "\"] must be an integer id");
        if (parent.place == Place::kMergePair) parent.bad = true;
      } else if (stack_.size() == 2 && stack_[0].value.is_object() && stack_[0].key == "model" &&
                 parent.value.is_object()) {
        if (parent.key == "vocab" && is_object) place = Place::kVocab;
        if (parent.key == "merges" && !is_object) place = Place::kMerges;
      }
    }
    if (place == Place::kVocab) file_.has_vocab = true;
    if (place == Place::kMerges) file_.has_merges = true;
    stack_.push_back({is_object ? Json::object() : Json::array(), {}, place, {}, false});
    return true;
  }

  bool close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    switch (frame.place) {
      case Place::kTree:
        return add(std::move(frame.value));
      case Place::kMergePair:
        if (frame.parts.size() == 2 && !frame.bad) {
          file_.merges.emplace_back(std::move(frame.parts[0]), std::move(frame.parts[1]));
        } else {
          note(merge_where() + " must be \"a b\" or [\"a\", \"b\"]");
        }
        ++merge_index_;
        return true;
      case Place::kIgnored:
        if (!stack_.empty() && stack_.back().place == Place::kMerges) {
          note(merge_where() + " must be \"a b\" or [\"a\", \"b\"]");
          ++merge_index_;
        }
        return true;
      case Place::kVocab:
      case Place::kMerges:
        return true;
    }
    return true;
  }

  TokenizerFile& file_;
  std::vector<Frame> stack_;
  size_t merge_index_ = 0;
  std::string syntax_error_;
};

// Checked access to the settings tree; every error names the file.
class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  template <typename... Parts>
  [[noreturn]] void error(Parts&&... parts) const {
    fail(path_, ": ", std::forward<Parts>(parts)...);
  }

  TokenizerFile read() const {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      fail("cannot open tokenizer file '", path_,
           "': ", std::filesystem::exists(path_, ec) ? "not a regular file" : "no such file");
    }
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail("cannot open tokenizer file '", path_, "'");
    std::string text(static_cast<size_t>(std::filesystem::file_size(path_)), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (!in) fail("cannot read tokenizer file '", path_, "'");
    TokenizerFile file;
    TokenizerFileReader reader(file);
    if (!Json::sax_parse(text, &reader)) error(reader.syntax_error());
    if (!file.problem.empty()) error(file.problem);
    return file;
  }

  const Json& member(const Json& object, const std::string& key, const std::string& where) const {
    if (!object.is_object()) error(where, " must be an object");
    auto it = object.find(key);
    if (it == object.end()) error(where, ".", key, " is missing");
    return *it;
  }

  std::string string_member(const Json& object, const std::string& key, const std::string& where) const {
    const Json& value = member(object, key, where);
    if (!value.is_string()) error(where, ".", key, " must be a string");
    return value.get<std::string>();
  }

  bool bool_member(const Json& object, const std::string& key, bool fallback, const std::string& where) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) error(where, ".", key, " must be true or false");
    return it->get<bool>();
  }

  int32_t id(int64_t value, const std::string& where) const {
    if (value < 0 || value >= INT32_MAX) error(where, " = ", value, " is not a valid token id");
    return static_cast<int32_t>(value);
  }

 private:
  std::string path_;
};

void load_normalizer(const Loader& loader, const Json& config, const std::string& where, bpe::Normalizer& normalizer) {
  if (config.is_null()) return;
  const std::string type = loader.string_member(config, "type", where);
  if (type == "Sequence") {
    const Json& steps = loader.member(config, "normalizers", where);
    if (!steps.is_array()) loader.error(where, ".normalizers must be a list");
    for (size_t i = 0; i < steps.size(); ++i) {
      load_normalizer(loader, steps[i], where + ".normalizers[" + std::to_string(i) + "]", normalizer);
    }
    return;
  }
  if (!normalizer.add(type)) {
    loader.error(where, " type '", type, "' is not supported (supported: NFC, NFD, NFKC, NFKD, Sequence)");
  }
}

bpe::SplitBehavior split_behavior(const Loader& loader, const std::string& name, const std::string& where) {
  if (name == "Removed") return bpe::SplitBehavior::kRemoved;
  if (name == "Isolated") return bpe::SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return bpe::SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return bpe::SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return bpe::SplitBehavior::kContiguous;
  loader.error(where, ".behavior '", name, "' is not supported");
}

void load_pre_tokenizer(const Loader& loader, const Json& config, const std::string& where,
                        std::vector<bpe::PreTokenizerStep>& steps) {
  const std::string type = loader.string_member(config, "type", where);
  if (type == "Sequence") {
    const Json& list = loader.member(config, "pretokenizers", where);
    if (!list.is_array()) loader.error(where, ".pretokenizers must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      load_pre_tokenizer(loader, list[i], where + ".pretokenizers[" + std::to_string(i) + "]", steps);
    }
    return;
  }
  const std::string regex_where = loader.path() + ": " + where;
  bpe::PreTokenizerStep step;
  if (type == "Split") {
    const Json& pattern = loader.member(config, "pattern", where);
    const bool is_regex = pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string();
    const bool is_string = pattern.is_object() && pattern.contains("String") && pattern["String"].is_string();
    if (!is_regex && !is_string) loader.error(where, ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    const std::string text = pattern[is_regex ? "Regex" : "String"].get<std::string>();
    if (text.empty()) loader.error(where, ".pattern is empty");
    step.regex = std::make_unique<bpe::Regex>(text, /*literal=*/!is_regex, regex_where + ".pattern");
    step.behavior = split_behavior(loader, loader.string_member(config, "behavior", where), where);
    step.invert = loader.bool_member(config, "invert", false, where);
  } else if (type == "Digits") {
    // Rust's char::is_numeric is the N category.
    step.regex = std::make_unique<bpe::Regex>(R"(\p{N})", /*literal=*/false, regex_where);
    const bool individual = loader.bool_member(config, "individual_digits", false, where);
    step.behavior = individual ? bpe::SplitBehavior::kIsolated : bpe::SplitBehavior::kContiguous;
  } else if (type == "ByteLevel") {
    step.add_prefix_space = loader.bool_member(config, "add_prefix_space", true, where);
    if (loader.bool_member(config, "use_regex", true, where)) {
      step.regex = std::make_unique<bpe::Regex>(bpe::kGpt2SplitPattern, /*literal=*/false, regex_where);
    }
  } else {
    loader.error(where, " type '", type, "' is not supported (supported: Split, ByteLevel, Digits, Sequence)");
  }
  steps.push_back(std::move(step));
}

bool is_type(const Json& config, const char* type) {
  return config.is_object() && config.contains("type") && config["type"] == type;
}

// The byte mapping must come last and once: splits after it would see mapped characters.
void check_byte_level_last(const Loader& loader, const Json& config) {
  std::vector<const Json*> flat;
  std::vector<const Json*> todo = {&config};
  while (!todo.empty()) {
    const Json* node = todo.back();
    todo.pop_back();
    if (is_type(*node, "Sequence") && node->contains("pretokenizers") && (*node)["pretokenizers"].is_array()) {
      const Json& children = (*node)["pretokenizers"];
      for (auto it = children.rbegin(); it != children.rend(); ++it) todo.push_back(&*it);
    } else {
      flat.push_back(node);
    }
  }
  size_t byte_level = 0;
  for (const Json* node : flat) byte_level += is_type(*node, "ByteLevel") ? 1 : 0;
  if (byte_level == 0) loader.error("pre_tokenizer has no ByteLevel step: not a byte-level BPE tokenizer");
  if (byte_level > 1 || !is_type(*flat.back(), "ByteLevel")) {
    loader.error("pre_tokenizer: ByteLevel must be the last step and appear once");
  }
}

void check_decoder(const Loader& loader, const Json& config) {
  if (config.is_null()) loader.error("decoder is missing: a byte-level BPE tokenizer needs a ByteLevel decoder");
  const std::string type = loader.string_member(config, "type", "decoder");
  if (type != "ByteLevel") loader.error("decoder type '", type, "' is not supported (only ByteLevel)");
}

void check_model_options(const Loader& loader, const Json& model) {
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    loader.error("model.dropout is not supported (encoding is deterministic)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty())) {
      loader.error("model.", key, " is not supported by byte-level BPE");
    }
  }
  if (loader.bool_member(model, "byte_fallback", false, "model")) {
    loader.error("model.byte_fallback is not supported (a SentencePiece-style option, not byte-level BPE)");
  }
}

void load_model(const Loader& loader, TokenizerFile& file, const bpe::ByteLevelAlphabet& alphabet,
                bpe::TokenizerState& state, int64_t id_limit) {
  const Json& model = loader.member(file.config, "model", "(top level)");
  const std::string type = model.is_object() ? model.value("type", std::string("BPE")) : std::string("?");
  if (type != "BPE") loader.error("model.type '", type, "' is not supported (only BPE)");
  check_model_options(loader, model);
  if (!file.has_vocab) loader.error("model.vocab is missing or not an object of token -> id");
  if (!file.has_merges) loader.error("model.merges is missing or not a list");

  int32_t max_id = -1;
  state.token_ids.reserve(file.vocab.size() + 64);
  for (auto& [token, value] : file.vocab) {
    if (value < 0 || value >= INT32_MAX) loader.error("model.vocab[\"", token, "\"] = ", value, " is not a valid id");
    if (value >= id_limit)
      loader.error("model.vocab[\"", token, "\"] = ", value, " is not a valid id: ids must stay below ", id_limit,
                   " (the tokens the file defines plus ", kMaxUnusedIds, " unused ids)");
    const auto id = static_cast<int32_t>(value);
    max_id = std::max(max_id, id);
    state.token_ids[std::move(token)] = id;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = state.token_ids.find(alphabet.symbol(static_cast<uint8_t>(b)));
    state.byte_ids[b] = it == state.token_ids.end() ? -1 : it->second;
  }

  const auto vocab_id = [&](const std::string& token, size_t index) {
    auto it = state.token_ids.find(token);
    if (it == state.token_ids.end()) loader.error("model.merges[", index, "]: token '", token, "' is not in the vocab");
    return it->second;
  };
  state.merges.reserve(file.merges.size() * 2);
  for (size_t i = 0; i < file.merges.size(); ++i) {
    const auto& [left, right] = file.merges[i];
    const int32_t new_id = vocab_id(left + right, i);
    // As in the reference, a repeated pair keeps its last rank.
    state.merges[bpe::pair_key(vocab_id(left, i), vocab_id(right, i))] = {static_cast<int32_t>(i), new_id};
  }

  state.ignore_merges = loader.bool_member(model, "ignore_merges", false, "model");
  state.fuse_unk = loader.bool_member(model, "fuse_unk", false, "model");
  if (auto it = model.find("unk_token"); it != model.end() && !it->is_null()) {
    if (!it->is_string()) loader.error("model.unk_token must be a string");
    auto unk = state.token_ids.find(it->get<std::string>());
    if (unk == state.token_ids.end())
      loader.error("model.unk_token '", it->get<std::string>(), "' is not in the vocab");
    state.unk_id = unk->second;
  }

  state.id_bytes.resize(static_cast<size_t>(max_id + 1));
  state.id_kinds.assign(static_cast<size_t>(max_id + 1), bpe::IdKind::kUnused);
  for (const auto& [token, id] : state.token_ids) {
    std::optional<std::string> bytes = alphabet.to_bytes(token);
    if (state.ignore_merges && bytes) state.whole_words.emplace(*bytes, id);
    state.id_bytes[id] = bytes ? std::move(*bytes) : token;  // the decoder keeps such tokens as written
    state.id_kinds[id] = bpe::IdKind::kToken;
  }
}

// Added tokens override the model vocabulary for lookup and decoding, and are matched before anything else.
void load_added_tokens(const Loader& loader, const Json& list, const bpe::ByteLevelAlphabet& alphabet,
                       bpe::TokenizerState& state, int64_t id_limit) {
  if (!list.is_array()) loader.error("added_tokens must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    const Json& entry = list[i];
    auto token = std::make_unique<bpe::AddedToken>();
    token->content = loader.string_member(entry, "content", where);
    if (token->content.empty()) loader.error(where, ".content is empty");
    const Json& id = loader.member(entry, "id", where);
    if (!id.is_number_integer()) loader.error(where, ".id must be an integer");
    token->id = loader.id(id.get<int64_t>(), where + ".id");
    if (token->id >= id_limit)
      loader.error(where, ".id = ", token->id, " is not a valid token id: ids must stay below ", id_limit,
                   " (the tokens the file defines plus ", kMaxUnusedIds, " unused ids)");
    token->special = loader.bool_member(entry, "special", false, where);
    token->single_word = loader.bool_member(entry, "single_word", false, where);
    token->lstrip = loader.bool_member(entry, "lstrip", false, where);
    token->rstrip = loader.bool_member(entry, "rstrip", false, where);
    token->normalized = loader.bool_member(entry, "normalized", !token->special, where);

    const auto index = static_cast<size_t>(token->id);
    if (index >= state.id_kinds.size()) {
      state.id_bytes.resize(index + 1);
      state.id_kinds.resize(index + 1, bpe::IdKind::kUnused);
    }
    std::optional<std::string> bytes = alphabet.to_bytes(token->content);
    state.id_bytes[index] = bytes ? std::move(*bytes) : token->content;
    state.id_kinds[index] = token->special ? bpe::IdKind::kSpecial : bpe::IdKind::kToken;
    state.token_ids[token->content] = token->id;
    if (token->normalized) {
      std::string storage;
      state.normalized_matcher.add(std::string(state.normalizer.apply(token->content, storage)), token.get());
    } else {
      state.raw_matcher.add(token->content, token.get());
    }
    state.added_tokens.push_back(std::move(token));
  }
}

// Fills `state` from what a tokenizer.json holds.
void load_state(const Loader& loader, TokenizerFile& file, bpe::TokenizerState* state) {
  if (!file.config.is_object()) loader.error("the top level must be an object");
  const bpe::ByteLevelAlphabet alphabet;
  state->path = loader.path();
  const Json& config = file.config;
  const Json added_tokens = config.value("added_tokens", Json::array());
  const int64_t defined = static_cast<int64_t>(file.vocab.size() + (added_tokens.is_array() ? added_tokens.size() : 0));
  const int64_t id_limit = defined + kMaxUnusedIds;
  load_model(loader, file, alphabet, *state, id_limit);

  load_normalizer(loader, config.value("normalizer", Json()), "normalizer", state->normalizer);
  const Json pre_tokenizer = config.value("pre_tokenizer", Json());
  if (pre_tokenizer.is_null()) loader.error("pre_tokenizer is missing: not a byte-level BPE tokenizer");
  check_byte_level_last(loader, pre_tokenizer);
  load_pre_tokenizer(loader, pre_tokenizer, "pre_tokenizer", state->pre_tokenizer);
  check_decoder(loader, config.value("decoder", Json()));
  load_added_tokens(loader, added_tokens, alphabet, *state, id_limit);
}

}  // namespace

BpeTokenizer BpeTokenizer::from_file(const std::string& path) {
  const Loader loader(path);
  TokenizerFile file = loader.read();
  auto state = std::make_unique<bpe::TokenizerState>();
  load_state(loader, file, state.get());
  return BpeTokenizer(std::move(state));
}

BpeTokenizer BpeTokenizer::from_parts(const std::string& where, const nlohmann::json& config,
                                      std::vector<std::pair<std::string, int64_t>> vocab,
                                      std::vector<std::pair<std::string, std::string>> merges) {
  const Loader loader(where);
  TokenizerFile file;
  file.config = config;
  file.has_vocab = true;
  file.has_merges = true;
  file.vocab = std::move(vocab);
  file.merges = std::move(merges);
  auto state = std::make_unique<bpe::TokenizerState>();
  load_state(loader, file, state.get());
  return BpeTokenizer(std::move(state));
}

}  // namespace stepwise
