// Parser of the chat-template subset of Jinja: tags if / elif / else, for (with a loop filter and an
// else), set (a name, a tuple of names, a namespace attribute, or a block), macro, break, continue and
// generation (rendered as its body), and Jinja's expression grammar with its precedence (conditional
// expressions; or; and; not; comparisons and in; + -; ~; * / // %; **; unary - +; filters and tests;
// attribute, item, slice and call postfixes; literals of every kind). Anything else is an error
// naming the tag or token and its position.
#include <set>

#include "core/tokenizer/chat_template_builtins.h"
#include "core/tokenizer/chat_template_syntax.h"

namespace stepwise::chat_template {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& where) : tokens_(std::move(tokens)), where_(where) {}

  Body parse() {
    std::string end_tag;
    Body body = parse_body({}, end_tag);
    return body;
  }

 private:
  using Kind = Token::Kind;

  // Nesting past this (tags in tags, parentheses, unary operators) is refused before the recursion
  // could exhaust the stack.
  static constexpr int kMaxNesting = 256;
  struct Nested {
    Parser& parser;
    explicit Nested(Parser& p) : parser(p) {
      if (++parser.nesting_ > kMaxNesting) parser.error(parser.current(), "the template nests deeper than 256 levels");
    }
    ~Nested() { --parser.nesting_; }
  };

  const Token& current() const { return tokens_[index_]; }
  const Token& peek(size_t ahead = 1) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  const Token& advance() { return tokens_[index_ < tokens_.size() - 1 ? index_++ : index_]; }

  bool is_op(const char* op) const { return current().kind == Kind::kOperator && current().text == op; }
  bool is_name(const char* name) const { return current().kind == Kind::kName && current().text == name; }

  static std::string describe(const Token& token) {
    switch (token.kind) {
      case Kind::kEnd: return "the end of the template";
      case Kind::kBlockEnd: return "'%}'";
      case Kind::kOutputEnd: return "'}}'";
      case Kind::kText: return "text";
      case Kind::kString: return "a string";
      default: return "'" + token.text + "'";
    }
  }

  [[noreturn]] void error(const Token& token, const std::string& message) const {
    fail_at(where_, token.pos, message);
  }
  [[noreturn]] void unexpected(const std::string& expected) const {
    error(current(), "expected " + expected + ", found " + describe(current()));
  }

  void expect_op(const char* op) {
    if (!is_op(op)) unexpected(std::string("'") + op + "'");
    advance();
  }
  std::string expect_name() {
    if (current().kind != Kind::kName) unexpected("a name");
    return advance().text;
  }
  void expect_block_end() {
    if (current().kind != Kind::kBlockEnd) unexpected("'%}'");
    advance();
  }

  // Statements until a block tag whose name is in `ends` (consumed up to its name, which goes to
  // `end_tag`); at the top level (`ends` empty) until the end of the template.
  Body parse_body(const std::set<std::string>& ends, std::string& end_tag) {
    Body body;
    while (true) {
      const Token& token = current();
      if (token.kind == Kind::kEnd) {
        if (!ends.empty()) {
          std::string names;
          for (const auto& name : ends) names += (names.empty() ? "'" : " or '") + name + "'";
          error(token, "the template ends before " + names);
        }
        return body;
      }
      if (token.kind == Kind::kText) {
        auto node = make_node(Node::Kind::kText, token);
        node->text = token.text;
        advance();
        body.push_back(std::move(node));
      } else if (token.kind == Kind::kOutputBegin) {
        auto node = make_node(Node::Kind::kOutput, token);
        advance();
        node->expr = parse_tuple(true);
        if (current().kind != Kind::kOutputEnd) unexpected("'}}'");
        advance();
        body.push_back(std::move(node));
      } else if (token.kind == Kind::kBlockBegin) {
        advance();
        const Token& name = current();
        if (name.kind != Kind::kName) unexpected("a tag name");
        if (ends.count(name.text) > 0) {
          end_tag = name.text;
          advance();
          return body;
        }
        if (NodePtr node = parse_statement()) body.push_back(std::move(node));
      } else {
        unexpected("text or a tag");
      }
    }
  }

  NodePtr make_node(Node::Kind kind, const Token& token) const {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->pos = token.pos;
    return node;
  }

  // After `{%`, at the tag name. Returns null for tags that render their body in place (generation).
  NodePtr parse_statement() {
    const Nested nested(*this);
    const Token& tag = current();
    const std::string name = tag.text;
    if (name == "if") return parse_if();
    if (name == "for") return parse_for();
    if (name == "set") return parse_set();
    if (name == "macro") return parse_macro();
    if (name == "break" || name == "continue") {
      auto node = make_node(name == "break" ? Node::Kind::kBreak : Node::Kind::kContinue, tag);
      advance();
      expect_block_end();
      return node;
    }
    if (name == "generation") return parse_generation();
    static const std::set<std::string> kEndTags = {"endif", "elif", "else", "endfor", "endset", "endmacro",
                                                   "endgeneration"};
    if (kEndTags.count(name) > 0) error(tag, "'" + name + "' closes no open tag");
    error(tag, "tag '" + name + "' is not in stepwise's chat-template subset (docs/chat_templates.md)");
  }

  NodePtr parse_if() {
    auto node = make_node(Node::Kind::kIf, current());
    advance();
    node->conditions.push_back(parse_tuple(false));
    expect_block_end();
    while (true) {
      std::string end;
      node->bodies.push_back(parse_body({"elif", "else", "endif"}, end));
      if (end == "endif") break;
      if (end == "elif") {
        node->conditions.push_back(parse_tuple(false));
        expect_block_end();
        continue;
      }
      expect_block_end();  // else
      node->bodies.push_back(parse_body({"endif"}, end));
      break;
    }
    expect_block_end();
    return node;
  }

  // Names separated by commas, optionally in parentheses: for and set targets.
  std::vector<std::string> parse_targets() {
    const bool parenthesized = is_op("(");
    if (parenthesized) advance();
    std::vector<std::string> names{expect_name()};
    while (is_op(",")) {
      advance();
      names.push_back(expect_name());
    }
    if (parenthesized) expect_op(")");
    return names;
  }

  NodePtr parse_for() {
    auto node = make_node(Node::Kind::kFor, current());
    advance();
    node->targets = parse_targets();
    if (!is_name("in")) unexpected("'in'");
    advance();
    node->expr = parse_tuple(false, {"if", "recursive"});
    if (is_name("if")) {
      advance();
      node->condition = parse_expression(true);
    }
    if (is_name("recursive")) error(current(), "recursive loops are not in stepwise's chat-template subset");
    expect_block_end();
    std::string end;
    node->bodies.push_back(parse_body({"else", "endfor"}, end));
    if (end == "else") {
      expect_block_end();
      node->bodies.push_back(parse_body({"endfor"}, end));
    }
    expect_block_end();
    return node;
  }

  NodePtr parse_set() {
    auto node = make_node(Node::Kind::kSet, current());
    advance();
    const std::string first = expect_name();
    if (is_op(".")) {
      advance();
      node->targets = {first};
      node->attribute = expect_name();
    } else {
      node->targets = {first};
      while (is_op(",")) {
        advance();
        node->targets.push_back(expect_name());
      }
    }
    if (current().kind == Kind::kBlockEnd) {
      if (node->targets.size() != 1 || !node->attribute.empty())
        error(current(), "a block set assigns one name");
      advance();
      node->kind = Node::Kind::kSetBlock;
      std::string end;
      node->bodies.push_back(parse_body({"endset"}, end));
      expect_block_end();
      return node;
    }
    if (is_op("|")) error(current(), "filters on a block set are not in stepwise's chat-template subset");
    expect_op("=");
    node->expr = parse_tuple(true);
    expect_block_end();
    return node;
  }

  NodePtr parse_macro() {
    auto node = make_node(Node::Kind::kMacro, current());
    advance();
    node->name = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!node->parameters.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string parameter = expect_name();
      ExprPtr fallback;
      if (is_op("=")) {
        advance();
        fallback = parse_expression(true);
      }
      node->parameters.emplace_back(std::move(parameter), std::move(fallback));
    }
    advance();
    expect_block_end();
    std::string end;
    node->bodies.push_back(parse_body({"endmacro"}, end));
    if (current().kind == Kind::kName && current().text == node->name) advance();
    expect_block_end();
    return node;
  }

  // {% generation %} ... {% endgeneration %} (Hugging Face's marker of assistant text): the body, inline.
  NodePtr parse_generation() {
    auto node = make_node(Node::Kind::kIf, current());
    advance();
    expect_block_end();
    std::string end;
    node->conditions.push_back(literal(Value::from_bool(true), node->pos));
    node->bodies.push_back(parse_body({"endgeneration"}, end));
    expect_block_end();
    return node;
  }

  // ---- expressions ----

  ExprPtr make_expr(Expr::Kind kind, SourcePos pos) const {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->pos = pos;
    return expr;
  }
  ExprPtr literal(Value value, SourcePos pos) const {
    auto expr = make_expr(Expr::Kind::kLiteral, pos);
    expr->literal = std::move(value);
    return expr;
  }

  bool at_tuple_end(const std::set<std::string>& extra_ends) const {
    const Token& t = current();
    if (t.kind == Kind::kBlockEnd || t.kind == Kind::kOutputEnd || t.kind == Kind::kEnd) return true;
    if (t.kind == Kind::kOperator && (t.text == ")" || t.text == "]" || t.text == "}")) return true;
    return t.kind == Kind::kName && extra_ends.count(t.text) > 0;
  }

  // An expression, or several separated by commas (a tuple without parentheses).
  ExprPtr parse_tuple(bool with_condition, const std::set<std::string>& extra_ends = {},
                      bool parenthesized = false) {
    const SourcePos pos = current().pos;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (at_tuple_end(extra_ends)) break;
      items.push_back(parse_expression(with_condition));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items.front());
      if (!parenthesized) unexpected("an expression");
    }
    auto tuple = make_expr(Expr::Kind::kTuple, pos);
    tuple->items = std::move(items);
    return tuple;
  }

  ExprPtr parse_expression(bool with_condition) {
    const Nested nested(*this);
    ExprPtr expr = parse_or();
    if (!with_condition) return expr;
    while (is_name("if")) {
      const SourcePos pos = advance().pos;
      auto condition = make_expr(Expr::Kind::kCondition, pos);
      condition->items.push_back(std::move(expr));
      condition->items.push_back(parse_or());
      if (is_name("else")) {
        advance();
        condition->items.push_back(parse_expression(true));
      } else {
        condition->items.push_back(nullptr);
      }
      expr = std::move(condition);
    }
    return expr;
  }

  ExprPtr binary(Expr::Kind kind, const std::string& op, ExprPtr left, ExprPtr right, SourcePos pos) const {
    auto expr = make_expr(kind, pos);
    expr->name = op;
    expr->items.push_back(std::move(left));
    expr->items.push_back(std::move(right));
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const SourcePos pos = advance().pos;
      left = binary(Expr::Kind::kOr, "or", std::move(left), parse_and(), pos);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const SourcePos pos = advance().pos;
      left = binary(Expr::Kind::kAnd, "and", std::move(left), parse_not(), pos);
    }
    return left;
  }

  ExprPtr parse_not() {
    const Nested nested(*this);
    if (is_name("not")) {
      const SourcePos pos = advance().pos;
      auto expr = make_expr(Expr::Kind::kNot, pos);
      expr->items.push_back(parse_not());
      return expr;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const SourcePos pos = current().pos;
    ExprPtr first = parse_math1();
    auto compare = make_expr(Expr::Kind::kCompare, pos);
    compare->items.push_back(std::move(first));
    while (true) {
      const Token& t = current();
      std::string op;
      if (t.kind == Kind::kOperator &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")) {
        op = t.text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().kind == Kind::kName && peek().text == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      compare->operators.push_back(op);
      compare->items.push_back(parse_math1());
    }
    if (compare->operators.empty()) return std::move(compare->items.front());
    return compare;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = advance();
      left = binary(Expr::Kind::kBinary, op.text, std::move(left), parse_concat(), op.pos);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Token& op = advance();
      left = binary(Expr::Kind::kBinary, "~", std::move(left), parse_math2(), op.pos);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = advance();
      left = binary(Expr::Kind::kBinary, op.text, std::move(left), parse_pow(), op.pos);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& op = advance();
      left = binary(Expr::Kind::kBinary, "**", std::move(left), parse_unary(true), op.pos);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    const Nested nested(*this);
    ExprPtr expr;
    if (is_op("-") || is_op("+")) {
      const Token& op = advance();
      expr = make_expr(Expr::Kind::kNegate, op.pos);
      expr->name = op.text;
      expr->items.push_back(parse_unary(false));
    } else {
      expr = parse_primary();
    }
    expr = parse_postfix(std::move(expr));
    if (with_filter) expr = parse_filters_and_tests(std::move(expr));
    return expr;
  }

  ExprPtr parse_primary() {
    const Token& t = current();
    switch (t.kind) {
      case Kind::kName: {
        advance();
        if (t.text == "true" || t.text == "True") return literal(Value::from_bool(true), t.pos);
        if (t.text == "false" || t.text == "False") return literal(Value::from_bool(false), t.pos);
        if (t.text == "none" || t.text == "None") return literal(Value::none(), t.pos);
        auto name = make_expr(Expr::Kind::kName, t.pos);
        name->name = t.text;
        return name;
      }
      case Kind::kString: {
        std::string text = advance().text;
        while (current().kind == Kind::kString) text += advance().text;  // adjacent strings join
        return literal(Value::from_string(std::move(text)), t.pos);
      }
      case Kind::kInteger: advance(); return literal(Value::from_int(t.integer), t.pos);
      case Kind::kFloat: advance(); return literal(Value::from_float(t.number), t.pos);
      case Kind::kOperator:
        if (t.text == "(") {
          advance();
          ExprPtr inner = parse_tuple(true, {}, true);
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          advance();
          auto list = make_expr(Expr::Kind::kList, t.pos);
          while (!is_op("]")) {
            if (!list->items.empty()) expect_op(",");
            if (is_op("]")) break;
            list->items.push_back(parse_expression(true));
          }
          advance();
          return list;
        }
        if (t.text == "{") {
          advance();
          auto dict = make_expr(Expr::Kind::kDict, t.pos);
          while (!is_op("}")) {
            if (!dict->items.empty()) expect_op(",");
            if (is_op("}")) break;
            dict->items.push_back(parse_expression(true));
            expect_op(":");
            dict->items.push_back(parse_expression(true));
          }
          advance();
          return dict;
        }
        break;
      default: break;
    }
    unexpected("an expression");
  }

  ExprPtr parse_postfix(ExprPtr expr) {
    while (true) {
      if (is_op(".")) {
        const SourcePos pos = advance().pos;
        if (current().kind == Kind::kInteger) {
          auto item = make_expr(Expr::Kind::kItem, pos);
          item->items.push_back(std::move(expr));
          item->items.push_back(literal(Value::from_int(current().integer), current().pos));
          advance();
          expr = std::move(item);
          continue;
        }
        auto attribute = make_expr(Expr::Kind::kAttribute, pos);
        attribute->name = expect_name();
        attribute->items.push_back(std::move(expr));
        expr = std::move(attribute);
      } else if (is_op("[")) {
        expr = parse_subscript(std::move(expr));
      } else if (is_op("(")) {
        expr = parse_call(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object) {
    const SourcePos pos = advance().pos;  // [
    ExprPtr start;
    if (!is_op(":")) start = parse_expression(true);
    if (!is_op(":")) {
      expect_op("]");
      auto item = make_expr(Expr::Kind::kItem, pos);
      item->items.push_back(std::move(object));
      item->items.push_back(std::move(start));
      return item;
    }
    advance();
    auto slice = make_expr(Expr::Kind::kSlice, pos);
    slice->items.push_back(std::move(object));
    slice->items.push_back(std::move(start));
    slice->items.push_back(is_op(":") || is_op("]") ? nullptr : parse_expression(true));
    if (is_op(":")) {
      advance();
      slice->items.push_back(is_op("]") ? nullptr : parse_expression(true));
    } else {
      slice->items.push_back(nullptr);
    }
    expect_op("]");
    return slice;
  }

  // `(args)` into expr->items (after any already there) and expr->keywords.
  void parse_arguments(Expr& expr) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error(current(), "argument unpacking is not in stepwise's chat-template subset");
      if (current().kind == Kind::kName && peek().kind == Kind::kOperator && peek().text == "=") {
        std::string key = advance().text;
        advance();
        expr.keywords.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!expr.keywords.empty()) error(current(), "a positional argument follows a keyword argument");
        expr.items.push_back(parse_expression(true));
      }
    }
    advance();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto call = make_expr(Expr::Kind::kCall, callee->pos);
    call->items.push_back(std::move(callee));
    parse_arguments(*call);
    return call;
  }

  ExprPtr parse_filters_and_tests(ExprPtr expr) {
    while (true) {
      if (is_op("|")) {
        const SourcePos pos = advance().pos;
        auto filter = make_expr(Expr::Kind::kFilter, pos);
        const Token& name = current();
        filter->name = expect_name();
        if (!is_known_filter(filter->name))
          error(name, "filter '" + filter->name + "' is not in stepwise's chat-template subset (" + known_filters() + ")");
        filter->items.push_back(std::move(expr));
        if (is_op("(")) parse_arguments(*filter);
        expr = std::move(filter);
      } else if (is_name("is")) {
        const SourcePos pos = advance().pos;
        auto test = make_expr(Expr::Kind::kTest, pos);
        if (is_name("not")) {
          advance();
          test->negated = true;
        }
        const Token& name = current();
        test->name = expect_name();
        if (!is_known_test(test->name))
          error(name, "test '" + test->name + "' is not in stepwise's chat-template subset (" + known_tests() + ")");
        test->items.push_back(std::move(expr));
        const Token& t = current();
        if (is_op("(")) {
          parse_arguments(*test);
        } else if ((t.kind == Kind::kName && t.text != "else" && t.text != "or" && t.text != "and" &&
                    t.text != "is" && t.text != "if") ||
                   t.kind == Kind::kString || t.kind == Kind::kInteger || t.kind == Kind::kFloat || is_op("[") ||
                   is_op("{")) {
          test->items.push_back(parse_postfix(parse_primary()));
        }
        expr = std::move(test);
      } else if (is_op("(")) {
        expr = parse_call(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t index_ = 0;
  int nesting_ = 0;
  const std::string& where_;
};

}  // namespace

Body parse_template(const std::string& source, const std::string& where) {
  return Parser(tokenize_template(source, where), where).parse();
}

}  // namespace stepwise::chat_template
