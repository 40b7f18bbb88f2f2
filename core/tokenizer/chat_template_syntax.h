// The syntax of the chat-template subset of Jinja: the lexer's tokens (with Jinja's whitespace control,
// trim_blocks and lstrip_blocks applied, as Hugging Face renders chat templates) and the parser's tree
// of statements and expressions, each carrying its line and column for error messages. Internal to
// core/tokenizer/chat_template*.cpp; the public interface is core/tokenizer/chat_template.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/chat_template_value.h"

namespace stepwise::chat_template {

struct SourcePos {
  int line = 1;
  int column = 1;
};

// Throws stepwise::Error "WHERE:LINE:COLUMN: MESSAGE".
[[noreturn]] void fail_at(const std::string& where, SourcePos pos, const std::string& message);

struct Token {
  enum class Kind {
    kText,        // literal output between tags
    kBlockBegin,  // {%
    kBlockEnd,    // %}
    kOutputBegin, // {{
    kOutputEnd,   // }}
    kName,
    kString,      // text holds the unescaped value
    kInteger,
    kFloat,
    kOperator,    // text holds it: + - * / // % ** ~ == != < > <= >= = . , : | ( ) [ ] { }
    kEnd,
  };
  Kind kind;
  std::string text;
  int64_t integer = 0;
  double number = 0.0;
  SourcePos pos;
};

// Splits `source` into tokens; errors (an unclosed tag, string or comment, an unexpected character)
// name `where` and the position.
std::vector<Token> tokenize_template(const std::string& source, const std::string& where);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,    // literal
    kName,       // name
    kList,       // items
    kTuple,      // items
    kDict,       // items: key, value, key, value, ...
    kAttribute,  // items[0].name
    kItem,       // items[0][items[1]]
    kSlice,      // items[0][items[1]:items[2]:items[3]], absent parts null
    kCall,       // items[0](items[1..], keywords)
    kFilter,     // items[0] | name(items[1..], keywords)
    kTest,       // items[0] is [not] name(items[1..]); negated
    kNegate,     // -items[0] (name "-") or +items[0] (name "+")
    kNot,        // not items[0]
    kBinary,     // items[0] name items[1]: + - * / // % ** ~
    kCompare,    // items[0] operators[0] items[1] operators[1] items[2] ...: == != < > <= >= in "not in"
    kAnd,        // items[0] and items[1]
    kOr,         // items[0] or items[1]
    kCondition,  // items[0] if items[1] else items[2] (items[2] null: undefined)
  };
  Kind kind;
  SourcePos pos;
  Value literal;
  std::string name;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  std::vector<std::string> operators;
  bool negated = false;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // conditions[i] -> bodies[i]; bodies.back() is the else body when it has one more
    kFor,       // for targets in expr [if condition]: bodies[0], else bodies[1]
    kSet,       // set targets = expr (targets: one name, a tuple of names, or attribute "ns.key")
    kSetBlock,  // set targets[0] %} bodies[0] {% endset
    kMacro,     // macro name(parameters) bodies[0]
    kBreak,
    kContinue,
  };
  Kind kind;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;  // kFor: the loop filter
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  std::vector<std::string> targets;
  std::string attribute;  // kSet on a namespace: targets[0].attribute
  std::string name;       // kMacro
  std::vector<std::pair<std::string, ExprPtr>> parameters;  // kMacro: name, default (or null)
};

// Parses the whole template; errors name `where` and the position of the offending token.
Body parse_template(const std::string& source, const std::string& where);

// Renders a parsed template (chat_template_eval.cpp) with `variables`, a dict of the names the template
// sees besides the global functions; errors name `where` and the position of the failing node.
std::string render_template(const Body& body, const std::string& where, const Value& variables);

}  // namespace stepwise::chat_template
