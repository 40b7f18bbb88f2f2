// Chat templates: the Jinja subset renders what Python's Jinja renders for the same template
// (tests/fixtures/chat_templates/jinja_semantics.json: scopes, printing, whitespace control, slicing,
// filters, tests, methods, operators); errors name the template, line and column; hostile templates stop
// with an error instead of exhausting the stack or memory; render_chat passes Hugging Face's variables.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tokenizer/chat_template.h"
#include "tests/support/expect_error.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

using testing::error_of;

std::string render(const std::string& source, const Json& variables = Json::object()) {
  return ChatTemplate(source, "t.jinja").render(variables);
}

TEST(ChatTemplate, RendersWhatPythonJinjaRenders) {
  const Json fixture = read_json(fs::path(STEPWISE_FIXTURES) / "chat_templates" / "jinja_semantics.json");
  ASSERT_GE(fixture["cases"].size(), 25u);
  for (const auto& c : fixture["cases"]) {
    const std::string name = c["name"].get<std::string>();
    EXPECT_EQ(render(c["template"].get<std::string>(), fixture["variables"]), c["jinja_output"].get<std::string>())
        << name;
  }
}

TEST(ChatTemplate, ErrorsNameTheTemplateLineAndColumn) {
  EXPECT_EQ(error_of([] { render("ab\n  {{ x | wordwrap }}"); }).rfind("t.jinja:2:10: filter 'wordwrap' is not", 0), 0u);
  EXPECT_EQ(error_of([] { render("{% raw %}x{% endraw %}"); }),
            "t.jinja:1:4: tag 'raw' is not in stepwise's chat-template subset (docs/chat_templates.md)");
  EXPECT_EQ(error_of([] { render("{% if x %}a"); }), "t.jinja:1:12: the template ends before 'elif' or 'else' or 'endif'");
  EXPECT_EQ(error_of([] { render("{{ 'abc }}"); }), "t.jinja:1:4: string is never closed");
  EXPECT_EQ(error_of([] { render("{% endfor %}"); }), "t.jinja:1:4: 'endfor' closes no open tag");
  EXPECT_EQ(error_of([] { render("{{ a @ b }}"); }), "t.jinja:1:6: unexpected character '@' in a tag");
  EXPECT_EQ(error_of([] { render("{# open"); }), "t.jinja:1:1: comment '{#' is never closed with '#}'");
  EXPECT_EQ(error_of([] { render("x\n{{ missing.attribute }}"); }), "t.jinja:2:11: 'missing' is undefined");
  EXPECT_EQ(error_of([] { render("{{ 'a' + 1 }}"); }), "t.jinja:1:8: unsupported operand types for +: 'str' and 'int'");
  EXPECT_EQ(error_of([] { render("{% set x.y = 1 %}"); }),
            "t.jinja:1:4: 'x' is not a namespace(): only namespace attributes can be set");
  EXPECT_EQ(error_of([] { render("\n\n   {{- raise_exception('Conversation roles must alternate') }}"); }),
            "t.jinja:3:8: the template raised an error: Conversation roles must alternate");
}

TEST(ChatTemplate, HostileTemplatesStopWithAnError) {
  const std::string deep = "{{" + std::string(100000, '(') + "1" + std::string(100000, ')') + "}}";
  EXPECT_NE(error_of([&] { render(deep); }).find("nests deeper than 256 levels"), std::string::npos);
  std::string tags;
  for (int i = 0; i < 100000; ++i) tags += "{% if 1 %}";
  EXPECT_NE(error_of([&] { render(tags); }).find("nests deeper than 256 levels"), std::string::npos);
  EXPECT_NE(error_of([] { render("{% macro f(a) %}{{ f(a) }}{% endmacro %}{{ f(1) }}"); }).find("deeper than 200"),
            std::string::npos);
  EXPECT_NE(error_of([] { render("{{ 'x' * 100000000000 }}"); }).find("too large"), std::string::npos);
  EXPECT_NE(error_of([] { render("{{ range(100000000) }}"); }).find("too long"), std::string::npos);
  EXPECT_NE(error_of([] {
              render("{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                     "{% endfor %}");
            }).find("string concatenation is too large"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              render("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");
            }).find("list concatenation is too large"),
            std::string::npos);
  EXPECT_EQ(render("{{ '' * 100000000000000 }}{{ [] * 100000000000000 }}{{ 'ab' * 0 }}|"), "[]|");
  EXPECT_NE(error_of([] { render("{% for i in range(1000) %}{{ 'x' * 1000000 }}{% endfor %}"); }).find("64 MiB"),
            std::string::npos);
  EXPECT_NE(error_of([] { render("{% for i in range(1000) %}{% for j in range(300) %}{% endfor %}{% endfor %}x"); })
                .find("more than 250000 loop iterations"),
            std::string::npos);
}

// Hugging Face's {% generation %} marks the assistant's text for training masks; rendering shows its body.
TEST(ChatTemplate, GenerationTagRendersItsBody) {
  EXPECT_EQ(render("<{%- generation %}a{{ 1 }}{% endgeneration -%}>"), "<a1>");
}

TEST(ChatTemplate, RenderChatPassesTheHuggingFaceVariables) {
  const ChatTemplate t(
      "{{ bos_token is defined }}|{{ eos_token }}|{{ tools is none }}|{{ add_generation_prompt }}|"
      "{{ enable_thinking is defined }}|{{ messages | length }}|{{ date_string }}",
      "vars.jinja");
  const Json messages = Json::parse(R"([{"role": "user", "content": "hi"}])");
  ChatOptions options;
  EXPECT_EQ(t.render_chat(messages, options, std::nullopt, "</s>"), "False|</s>|True|True|False|1|");
  options.add_generation_prompt = false;
  options.enable_thinking = false;
  options.tools = Json::parse(R"([{"type": "function"}])");
  options.extra_variables = Json{{"date_string", "02 Dec 2026"}};
  EXPECT_EQ(t.render_chat(messages, options, "<s>", "</s>"), "True|</s>|False|False|True|1|02 Dec 2026");
}

TEST(ChatTemplate, MessagesAreChecked) {
  EXPECT_EQ(error_of([] { check_chat_messages(Json::parse("{}"), "chat.json"); }),
            "chat.json: messages must be a JSON array of {\"role\", \"content\"} objects");
  EXPECT_EQ(error_of([] { check_chat_messages(Json::array(), "chat.json"); }), "chat.json: there are no messages");
  EXPECT_EQ(error_of([] { check_chat_messages(Json::parse(R"([{"role": "user"}, {"content": "x"}])"), "chat.json"); }),
            "chat.json: message 1 has no string \"role\"");
}

}  // namespace
}  // namespace stepwise
