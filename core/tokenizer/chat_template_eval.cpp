// The evaluator of chat templates: statements render into one string, expressions evaluate to values.
// Scopes follow Jinja: the template's top level sees the variables and the global functions; each for-loop
// iteration and each macro call has its own scope (a `set` there does not leak out, which is why
// templates carry state across iterations in a namespace()); if blocks share their enclosing scope.
#include <cstdint>
#include <unordered_map>

#include "core/error.h"
#include "core/tokenizer/chat_template_builtins.h"
#include "core/tokenizer/chat_template_syntax.h"

namespace stepwise::chat_template {
namespace {

// Past this output size or loop-and-macro depth the template is stopped (an endless macro recursion).
constexpr size_t kMaxOutputBytes = size_t{64} << 20;
constexpr int kMaxDepth = 200;
// Loop iterations and macro calls of one rendering, all together (a chat template needs a few per message).
constexpr int64_t kMaxSteps = 250000;

struct Scope {
  std::unordered_map<std::string, Value> variables;
  std::shared_ptr<Scope> parent;

  const Value* find(const std::string& name) const {
    for (const Scope* scope = this; scope != nullptr; scope = scope->parent.get()) {
      const auto found = scope->variables.find(name);
      if (found != scope->variables.end()) return &found->second;
    }
    return nullptr;
  }
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { kNormal, kBreak, kContinue };

class Renderer {
 public:
  explicit Renderer(const std::string& where) : where_(where) {}

  std::string run(const Body& body, const Value& variables) {
    auto globals = std::make_shared<Scope>();
    Dict functions;
    add_global_functions(functions);
    for (auto& [name, value] : functions.entries) globals->variables[name] = value;
    auto top = std::make_shared<Scope>();
    top->parent = globals;
    for (const auto& [name, value] : variables.dict->entries) top->variables[name] = value;
    std::string out;
    const Flow flow = render(body, top, out);
    if (flow != Flow::kNormal) fail(where_, ": 'break' or 'continue' outside a loop");
    return out;
  }

 private:
  [[noreturn]] void error(SourcePos pos, const std::string& message) const { fail_at(where_, pos, message); }

  void count_step(SourcePos pos) {
    if (++steps_ > kMaxSteps) error(pos, "the template runs more than 250000 loop iterations and macro calls");
  }

  Flow render(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const NodePtr& node : body) {
      const Flow flow = render(*node, scope, out);
      if (flow != Flow::kNormal) return flow;
      if (out.size() > kMaxOutputBytes) error(node->pos, "the rendered text passes 64 MiB");
    }
    return Flow::kNormal;
  }

  Flow render(const Node& node, const ScopePtr& scope, std::string& out) {
    switch (node.kind) {
      case Node::Kind::kText: out += node.text; return Flow::kNormal;
      case Node::Kind::kOutput: out += to_str(eval(*node.expr, scope)); return Flow::kNormal;
      case Node::Kind::kIf:
        for (size_t i = 0; i < node.conditions.size(); ++i)
          if (truthy(eval(*node.conditions[i], scope))) return render(node.bodies[i], scope, out);
        if (node.bodies.size() > node.conditions.size()) return render(node.bodies.back(), scope, out);
        return Flow::kNormal;
      case Node::Kind::kFor: return render_for(node, scope, out);
      case Node::Kind::kSet: assign(node, eval(*node.expr, scope), scope); return Flow::kNormal;
      case Node::Kind::kSetBlock: {
        std::string text;
        const Flow flow = render(node.bodies[0], scope, text);
        assign(node, Value::from_string(text), scope);
        return flow;
      }
      case Node::Kind::kMacro: scope->variables[node.name] = make_macro(node, scope); return Flow::kNormal;
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  void bind_targets(const Node& node, const Value& item, Scope& scope) const {
    if (node.targets.size() == 1) {
      scope.variables[node.targets[0]] = item;
      return;
    }
    if (!item.is_list() || item.list->size() != node.targets.size())
      error(node.pos, "cannot unpack " + item.type_name() + " into " + std::to_string(node.targets.size()) + " names");
    for (size_t i = 0; i < node.targets.size(); ++i) scope.variables[node.targets[i]] = (*item.list)[i];
  }

  void assign(const Node& node, const Value& value, const ScopePtr& scope) const {
    if (!node.attribute.empty()) {
      const Value* target = scope->find(node.targets[0]);
      if (target == nullptr || !target->is_dict() || !target->dict->is_namespace)
        error(node.pos, "'" + node.targets[0] + "' is not a namespace(): only namespace attributes can be set");
      target->dict->set(node.attribute, value);
      return;
    }
    bind_targets(node, value, *scope);
  }

  Flow render_for(const Node& node, const ScopePtr& scope, std::string& out) {
    const Value iterable = eval(*node.expr, scope);
    List items;
    try {
      items = iterate(iterable);
    } catch (const TemplateFault& f) {
      error(node.expr->pos, f.message);
    }
    if (node.condition) {
      List kept;
      for (const Value& item : items) {
        auto probe = std::make_shared<Scope>();
        probe->parent = scope;
        bind_targets(node, item, *probe);
        if (truthy(eval(*node.condition, probe))) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (++depth_ > kMaxDepth) error(node.pos, "loops and macro calls nest deeper than 200");
    // One loop object per loop, updated in place (as Jinja's LoopContext is), and one scope for the
    // iterations, emptied before each.
    auto loop = std::make_shared<Dict>();
    const auto n = static_cast<int64_t>(items.size());
    for (const char* key : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem",
                            "nextitem"})
      loop->set(key, Value::none());
    std::weak_ptr<Dict> weak_loop = loop;
    loop->set("cycle", Value::from_function([weak_loop](const Arguments& args) {
                if (args.positional.empty()) fault("loop.cycle() needs at least one value");
                const auto current = weak_loop.lock();
                const int64_t index = current ? current->entries[1].second.integer : 0;
                return args.positional[static_cast<size_t>(index) % args.positional.size()];
              }));
    const Value loop_value = Value::from_dict(loop);
    auto iteration = std::make_shared<Scope>();
    iteration->parent = scope;
    for (size_t i = 0; i < items.size(); ++i) {
      count_step(node.pos);
      const auto index = static_cast<int64_t>(i);
      auto& e = loop->entries;
      e[0].second = Value::from_int(index + 1);
      e[1].second = Value::from_int(index);
      e[2].second = Value::from_int(n - index);
      e[3].second = Value::from_int(n - index - 1);
      e[4].second = Value::from_bool(i == 0);
      e[5].second = Value::from_bool(index == n - 1);
      e[6].second = Value::from_int(n);
      e[7].second = i > 0 ? items[i - 1] : Value::undefined("there is no previous item");
      e[8].second = index + 1 < n ? items[i + 1] : Value::undefined("there is no next item");
      iteration->variables.clear();
      bind_targets(node, items[i], *iteration);
      iteration->variables["loop"] = loop_value;
      const Flow flow = render(node.bodies[0], iteration, out);
      if (flow == Flow::kBreak) break;
    }
    --depth_;
    if (items.empty() && node.bodies.size() > 1) return render(node.bodies[1], scope, out);
    return Flow::kNormal;
  }

  Value make_macro(const Node& node, const ScopePtr& scope) {
    std::weak_ptr<Scope> defining = scope;
    const Node* macro = &node;
    return Value::from_function([this, macro, defining](const Arguments& args) {
      const ScopePtr parent = defining.lock();
      if (!parent) fault("macro '" + macro->name + "' is called after its scope ended");
      if (args.positional.size() > macro->parameters.size())
        fault("macro '" + macro->name + "' takes " + std::to_string(macro->parameters.size()) + " arguments, got " +
              std::to_string(args.positional.size()));
      auto call = std::make_shared<Scope>();
      call->parent = parent;
      for (size_t i = 0; i < macro->parameters.size(); ++i) {
        const auto& [name, fallback] = macro->parameters[i];
        if (const Value* given = args.get(i, name)) call->variables[name] = *given;
        else if (fallback) call->variables[name] = eval(*fallback, call);
        else call->variables[name] = Value::undefined("macro '" + macro->name + "' argument '" + name + "' is missing");
      }
      for (const auto& [key, value] : args.keyword) {
        bool known = false;
        for (const auto& parameter : macro->parameters) known = known || parameter.first == key;
        if (!known) fault("macro '" + macro->name + "' has no argument '" + key + "'");
      }
      if (++steps_ > kMaxSteps) fault("the template runs more than 250000 loop iterations and macro calls");
      if (++depth_ > kMaxDepth) fault("loops and macro calls nest deeper than 200");
      std::string out;
      render(macro->bodies[0], call, out);
      --depth_;
      return Value::from_string(out);
    });
  }

  Arguments arguments(const Expr& expr, size_t first, const ScopePtr& scope) {
    Arguments args;
    for (size_t i = first; i < expr.items.size(); ++i) args.positional.push_back(eval(*expr.items[i], scope));
    for (const auto& [key, value] : expr.keywords) args.keyword.emplace_back(key, eval(*value, scope));
    return args;
  }

  std::optional<int64_t> slice_bound(const ExprPtr& expr, const ScopePtr& scope) {
    if (!expr) return std::nullopt;
    const Value v = eval(*expr, scope);
    if (v.is_none()) return std::nullopt;
    if (v.kind != Value::Kind::kInt) error(expr->pos, "slice indices must be integers, got " + v.type_name());
    return v.integer;
  }

  Value eval(const Expr& expr, const ScopePtr& scope) {
    try {
      return eval_unpositioned(expr, scope);
    } catch (const TemplateFault& f) {
      error(expr.pos, f.message);
    }
  }

  Value eval_unpositioned(const Expr& expr, const ScopePtr& scope) {
    switch (expr.kind) {
      case Expr::Kind::kLiteral: return expr.literal;
      case Expr::Kind::kName: {
        const Value* found = scope->find(expr.name);
        return found ? *found : Value::undefined("'" + expr.name + "' is undefined");
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        List items;
        for (const ExprPtr& item : expr.items) items.push_back(eval(*item, scope));
        return Value::from_list(std::move(items), expr.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        auto dict = std::make_shared<Dict>();
        for (size_t i = 0; i + 1 < expr.items.size(); i += 2) {
          const Value key = eval(*expr.items[i], scope);
          if (!key.is_string()) error(expr.items[i]->pos, "dict keys must be strings, got " + key.type_name());
          dict->set(key.text, eval(*expr.items[i + 1], scope));
        }
        return Value::from_dict(std::move(dict));
      }
      case Expr::Kind::kAttribute: return get_attribute(eval(*expr.items[0], scope), expr.name);
      case Expr::Kind::kItem: return get_item(eval(*expr.items[0], scope), eval(*expr.items[1], scope));
      case Expr::Kind::kSlice: {
        const Value object = eval(*expr.items[0], scope);
        return slice_of(object, slice_bound(expr.items[1], scope), slice_bound(expr.items[2], scope),
                        slice_bound(expr.items[3], scope));
      }
      case Expr::Kind::kCall: {
        const Value callee = eval(*expr.items[0], scope);
        if (callee.is_undefined()) fault(callee.undefined_hint.empty() ? "calling an undefined value" : callee.undefined_hint);
        if (callee.kind != Value::Kind::kCallable) fault("'" + callee.type_name() + "' object is not callable");
        return (*callee.function)(arguments(expr, 1, scope));
      }
      case Expr::Kind::kFilter: {
        const Value operand = eval(*expr.items[0], scope);
        return apply_filter(expr.name, operand, arguments(expr, 1, scope));
      }
      case Expr::Kind::kTest: {
        const Value operand = eval(*expr.items[0], scope);
        const bool result = apply_test(expr.name, operand, arguments(expr, 1, scope));
        return Value::from_bool(expr.negated ? !result : result);
      }
      case Expr::Kind::kNegate: {
        const Value v = eval(*expr.items[0], scope);
        if (!v.is_number()) fault("bad operand type for unary " + expr.name + ": '" + v.type_name() + "'");
        if (expr.name == "+") return v.kind == Value::Kind::kBool ? Value::from_int(v.boolean) : v;
        if (v.kind == Value::Kind::kFloat) return Value::from_float(-v.number);
        if (v.kind == Value::Kind::kInt && v.integer == INT64_MIN) fault("integer negation overflows 64 bits");
        return Value::from_int(-(v.kind == Value::Kind::kBool ? int64_t{v.boolean} : v.integer));
      }
      case Expr::Kind::kNot: return Value::from_bool(!truthy(eval(*expr.items[0], scope)));
      case Expr::Kind::kBinary:
        return binary_operation(expr.name, eval(*expr.items[0], scope), eval(*expr.items[1], scope));
      case Expr::Kind::kCompare: {
        Value left = eval(*expr.items[0], scope);
        for (size_t i = 0; i < expr.operators.size(); ++i) {
          Value right = eval(*expr.items[i + 1], scope);
          if (!compare(expr.operators[i], left, right)) return Value::from_bool(false);
          left = std::move(right);
        }
        return Value::from_bool(true);
      }
      case Expr::Kind::kAnd: {
        Value left = eval(*expr.items[0], scope);
        return truthy(left) ? eval(*expr.items[1], scope) : left;
      }
      case Expr::Kind::kOr: {
        Value left = eval(*expr.items[0], scope);
        return truthy(left) ? left : eval(*expr.items[1], scope);
      }
      case Expr::Kind::kCondition:
        if (truthy(eval(*expr.items[1], scope))) return eval(*expr.items[0], scope);
        return expr.items[2] ? eval(*expr.items[2], scope) : Value::undefined("the condition was false and there is no else");
    }
    return Value::undefined();
  }

  const std::string& where_;
  int depth_ = 0;
  int64_t steps_ = 0;
};

}  // namespace

std::string render_template(const Body& body, const std::string& where, const Value& variables) {
  return Renderer(where).run(body, variables);
}

}  // namespace stepwise::chat_template
