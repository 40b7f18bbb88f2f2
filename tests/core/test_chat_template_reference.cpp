// The real Qwen2.5, Qwen3, LLaMA-3.1 and LLaMA-3.2 chat templates render every conversation of
// tests/fixtures/chat_templates/conversations.json to exactly the text @huggingface/jinja renders (the npm
// package installed by scripts/fetch_npm.sh, run through tests/core/chat_template_reference.cjs).
#include <gtest/gtest.h>
#include <stdio.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/tokenizer/chat_template.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// stdout of `command`, or nullopt when it fails.
std::optional<std::string> run(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  std::array<char, 65536> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  if (pclose(pipe) != 0) return std::nullopt;
  return out;
}

TEST(ChatTemplateReference, ModelTemplatesRenderAsHuggingFaceJinjaDoes) {
  const fs::path fixtures = fs::path(STEPWISE_FIXTURES) / "chat_templates";
  const fs::path modules = STEPWISE_NPM_MODULES;
  ASSERT_TRUE(fs::exists(modules / "@huggingface" / "jinja" / "package.json"))
      << "@huggingface/jinja is not installed in " << modules << ": run scripts/fetch_npm.sh first";
  const std::optional<std::string> reference = run("node '" + std::string(STEPWISE_REFERENCE_SCRIPT) + "' '" +
                                                   modules.string() + "' '" + fixtures.string() + "'");
  ASSERT_TRUE(reference.has_value()) << "node could not run " << STEPWISE_REFERENCE_SCRIPT;
  const Json expected = Json::parse(*reference);
  const Json conversations = Json::parse(read_text(fixtures / "conversations.json"));
  ASSERT_GE(conversations["cases"].size(), 28u);
  std::map<std::string, ChatTemplate> templates;
  for (const auto& c : conversations["cases"]) {
    const std::string name = c["name"].get<std::string>();
    const std::string file = c["template"].get<std::string>();
    ASSERT_TRUE(expected.contains(name)) << name;
    ASSERT_TRUE(expected[name].is_string()) << name << ": @huggingface/jinja failed: " << expected[name].dump();
    if (templates.count(file) == 0) templates.emplace(file, ChatTemplate(read_text(fixtures / file), file));
    EXPECT_EQ(templates.at(file).render(c["variables"]), expected[name].get<std::string>()) << name;
  }
}

}  // namespace
}  // namespace stepwise
