// The parser's converter: walks the flat preorder tree of one parse
// (grammar/node_kind.h) and builds the AST. Expressions and statements are
// built in the class body; declarations (types, entities, connectors,
// agents, triggers, transforms, migrations) in parser_decls.cc. Internal to
// lang/parser*.cc.
#ifndef AOS_LANG_PARSER_CONVERTER_H_
#define AOS_LANG_PARSER_CONVERTER_H_

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "grammar/node_kind.h"
#include "lang/ast.h"
#include "lang/diagnostic.h"
#include "lang/literals.h"
#include "lang/source.h"
#include "lang/spelling.h"
#include "lang/syntax_error.h"

namespace aos::parsing {

namespace g = grammar;
using g::NodeKind;

// The most binary operators one expression may chain (a + b + c ... nests
// one level per operator in the AST).
constexpr size_t kMaxOperators = 256;

// Walks the flat preorder tree of one parse and builds the AST.
class Converter {
 public:
  Converter(const g::ParseState& st, const SourceFile* src, Diagnostics& diags)
      : n_(st.nodes), text_(st.src), src_(src), diags_(diags) {}

  // The pool of the expressions built so far (the converter's last use).
  std::unique_ptr<ExprPool> TakePool() { return std::move(pool_); }

  std::unique_ptr<Module> BuildModule() {
    auto m = std::make_unique<Module>();
    for (uint32_t i = 0; i < n_.size(); i += n_[i].size) {
      switch (n_[i].kind) {
        case NodeKind::version_decl:
          m->version = std::string(Text(Child(i, NodeKind::version_number)));
          break;
        case NodeKind::import_decl: {
          ImportDecl d;
          d.span = SpanOf(i);
          if (auto e = StringValue(i + 1)) d.path = *e;
          m->imports.push_back(std::move(d));
          break;
        }
        case NodeKind::type_decl:
        case NodeKind::entity_decl:
          m->types.push_back(BuildType(i));
          break;
        case NodeKind::connector_decl:
          m->connectors.push_back(BuildConnector(i));
          break;
        case NodeKind::agent_decl:
          m->agents.push_back(BuildAgent(i));
          break;
        case NodeKind::workflow_decl:
          m->workflows.push_back(BuildWorkflow(i));
          break;
        case NodeKind::trigger_decl:
          m->triggers.push_back(BuildTrigger(i));
          break;
        case NodeKind::transform_decl:
          m->transforms.push_back(BuildTransform(i));
          break;
        case NodeKind::migration_decl:
          m->migrations.push_back(BuildMigration(i));
          break;
        default:
          break;
      }
    }
    m->exprs = TakePool();
    return m;
  }

  ExprPtr BuildExpr(uint32_t i) {
    // Children: operands (unary) and operators (binop), then optionally
    // cond_q followed by the two branch expressions.
    std::vector<uint32_t> operands;
    std::vector<std::string_view> ops;
    uint32_t cond_at = 0;
    for (uint32_t c : Kids(i)) {
      const NodeKind k = n_[c].kind;
      if (k == NodeKind::unary) {
        operands.push_back(c);
      } else if (k == NodeKind::binop) {
        ops.push_back(Text(c));
      } else if (k == NodeKind::cond_q) {
        cond_at = c;
        break;
      }
    }
    if (ops.size() > kMaxOperators) {
      // A left-deep tree this deep would exhaust the stack of every later pass.
      auto& d = diags_.Error(src_, SpanOf(i), "E004",
                             "expression too long: more than " +
                                 std::to_string(kMaxOperators) + " operators");
      d.hints.push_back("split it into several let statements");
      return Literal(i, Value());
    }
    size_t next = 0;
    ExprPtr e = Climb(operands, ops, &next, 1);
    if (cond_at) {
      std::vector<uint32_t> branches;
      for (uint32_t c : Kids(i)) {
        if (c > cond_at && n_[c].kind == NodeKind::expr) branches.push_back(c);
      }
      const size_t mark = scratch_.size();
      scratch_.push_back(e);
      for (uint32_t b : branches) scratch_.push_back(BuildExpr(b));
      return NewExprFrom(mark, ExprKind::kCond, SpanOf(i));
    }
    return e;
  }

 private:
  // ---------------------------------------------------------------- tree
  class KidRange {
   public:
    struct It {
      const g::Stack<g::FlatNode>* n;
      uint32_t i;
      uint32_t operator*() const { return i; }
      It& operator++() {
        i += (*n)[i].size;
        return *this;
      }
      bool operator!=(const It& o) const { return i != o.i; }
    };
    KidRange(const g::Stack<g::FlatNode>& n, uint32_t i) : n_(n), i_(i) {}
    It begin() const { return It{&n_, i_ + 1}; }
    It end() const { return It{&n_, i_ + n_[i_].size}; }

   private:
    const g::Stack<g::FlatNode>& n_;
    uint32_t i_;
  };

  KidRange Kids(uint32_t i) const { return KidRange(n_, i); }

  // The first child of kind k, or 0 (never a valid child index).
  uint32_t Child(uint32_t i, NodeKind k) const {
    for (uint32_t c : Kids(i)) {
      if (n_[c].kind == k) return c;
    }
    return 0;
  }

  std::string_view Text(uint32_t i) const {
    return text_.substr(n_[i].begin, n_[i].end - n_[i].begin);
  }
  Span SpanOf(uint32_t i) const { return Span{n_[i].begin, n_[i].end}; }

  ExprPtr NewExpr(ExprKind k, Span s, std::string_view name = "", std::initializer_list<Expr*> args = {}) {
    return NewExpr(k, s, name, ExprList(args.begin(), args.size()));
  }
  ExprPtr NewExpr(ExprKind k, Span s, std::string_view name, ExprList args) {
    Expr* e = pool_->New(k, s);
    e->ref_.name = name;
    pool_->SetArgs(e, args);
    return e;
  }
  // A node whose arguments are scratch_ from `mark` on (pushed there by the
  // caller; nested lists push above and pop theirs before it resumes).
  ExprPtr NewExprFrom(size_t mark, ExprKind k, Span s, std::string_view name = "") {
    Expr* e = NewExpr(k, s, name, ExprList(scratch_.data() + mark, scratch_.size() - mark));
    scratch_.resize(mark);
    return e;
  }

  void Error(Span s, std::string msg, std::string hint = "") {
    auto& d = diags_.Error(src_, s, "E005", std::move(msg));
    if (!hint.empty()) d.hints.push_back(std::move(hint));
  }

  // ---------------------------------------------------------------- exprs
  static int Precedence(std::string_view op) {
    if (op == "||") return 1;
    if (op == "&&") return 2;
    if (op == "+" || op == "-") return 4;
    if (op == "*" || op == "/" || op == "%") return 5;
    return 3;  // relations and `in`
  }

  ExprPtr Climb(const std::vector<uint32_t>& operands,
                const std::vector<std::string_view>& ops, size_t* next, int min_prec) {
    ExprPtr lhs = BuildUnary(operands[*next]);
    ++*next;
    while (*next - 1 < ops.size() && Precedence(ops[*next - 1]) >= min_prec) {
      const std::string_view op = ops[*next - 1];
      ExprPtr rhs = Climb(operands, ops, next, Precedence(op) + 1);
      lhs = NewExpr(ExprKind::kBinary, Span{lhs->span.begin, rhs->span.end}, op, {lhs, rhs});
    }
    return lhs;
  }

  ExprPtr BuildUnary(uint32_t i) {
    std::vector<uint32_t> prefix;
    ExprPtr e = nullptr;
    bool last_was_ident = false;
    bool last_was_member = false;
    for (uint32_t c : Kids(i)) {
      const NodeKind k = n_[c].kind;
      if (k == NodeKind::prefix_op) {
        prefix.push_back(c);
      } else if (k == NodeKind::unary && !prefix.empty() && Text(prefix.back()) == "-" && IsMinIntMagnitude(c)) {
        // -9223372036854775808: the smallest int, whose magnitude alone is
        // out of range.
        e = Literal(c, Value::Int(std::numeric_limits<int64_t>::min()));
        e->span.begin = n_[prefix.back()].begin;
        prefix.pop_back();
      } else if (k == NodeKind::unary) {
        e = BuildUnary(c);  // the operand of a prefix operator
      } else if (!e) {
        e = BuildPrimary(c);
        last_was_ident = k == NodeKind::ident || k == NodeKind::type_fn;
        last_was_member = false;
      } else if (k == NodeKind::member_suffix) {
        e = NewExpr(ExprKind::kMember, Span{e->span.begin, n_[c].end}, Text(c), {e});
        last_was_ident = false;
        last_was_member = true;
      } else if (k == NodeKind::index_suffix) {
        e = NewExpr(ExprKind::kIndex, Span{e->span.begin, n_[c].end}, "", {e, BuildExpr(c + 1)});
        last_was_ident = last_was_member = false;
      } else if (k == NodeKind::call_suffix) {
        std::string_view name = "?";
        const size_t mark = scratch_.size();
        if (last_was_ident) {
          name = e->name();
        } else if (last_was_member) {
          name = e->name();
          scratch_.push_back(e->args()[0]);
        } else {
          Error(SpanOf(c), "only a function or method name can be called");
        }
        AddArgs(c, scratch_, nullptr, std::string(name));
        Expr* call = NewExprFrom(mark, ExprKind::kCall, Span{e->span.begin, n_[c].end}, name);
        call->has_receiver = last_was_member;
        e = call;
        last_was_ident = last_was_member = false;
      }
    }
    for (auto it = prefix.rbegin(); it != prefix.rend(); ++it) {
      e = NewExpr(ExprKind::kUnary, Span{n_[*it].begin, e->span.end}, Text(*it), {e});
    }
    return e;
  }

  // Appends a call's arguments; their names go to `names`, or, when that is
  // null (a call inside an expression, which takes none), are an error.
  void AddArgs(uint32_t call_node, std::vector<ExprPtr>& args,
               std::vector<std::string_view>* names, const std::string& fn = "") {
    for (uint32_t a : Kids(call_node)) {
      if (n_[a].kind != NodeKind::arg) continue;
      std::string_view name;
      for (uint32_t c : Kids(a)) {
        if (n_[c].kind == NodeKind::arg_name) {
          name = Text(c);
          if (!names) {
            auto& d = diags_.Error(src_, SpanOf(c), "E110", fn + "() takes no named arguments");
            d.hints.push_back("named arguments belong to statement calls such as http.get(url, query: q)");
          }
        } else if (n_[c].kind == NodeKind::expr) {
          args.push_back(BuildExpr(c));
        }
      }
      if (names) names->push_back(name);
    }
  }

  ExprPtr Literal(uint32_t i, Value v) { return pool_->Literal(SpanOf(i), std::move(v)); }

  ExprPtr BuildPrimary(uint32_t i) {
    const std::string_view t = Text(i);
    switch (n_[i].kind) {
      case NodeKind::ident:
      case NodeKind::type_fn: {
        return NewExpr(ExprKind::kIdent, SpanOf(i), t);
      }
      case NodeKind::null_lit:
        return Literal(i, Value());
      case NodeKind::true_lit:
        return Literal(i, Value::Bool(true));
      case NodeKind::false_lit:
        return Literal(i, Value::Bool(false));
      case NodeKind::int_lit:
        return Literal(i, IntValue(i));
      case NodeKind::uint_lit: {
        uint64_t u = 0;
        if (!ParseUnsignedLiteral(t.substr(0, t.size() - 1), &u)) {
          Error(SpanOf(i), "integer literal out of range for uint");
        }
        return Literal(i, Value::Uint(u));
      }
      case NodeKind::double_lit: {
        const std::string s(t);
        return Literal(i, Value::Double(std::strtod(s.c_str(), nullptr)));
      }
      case NodeKind::duration_lit:
        return Literal(i, Value::Dur(DurationValue(i)));
      case NodeKind::money_lit:
        return Literal(i, Value::MoneyOf(MoneyValue(i)));
      case NodeKind::dq_string:
      case NodeKind::sq_string:
        return BuildString(i);
      case NodeKind::list_lit: {
        const size_t mark = scratch_.size();
        for (uint32_t c : Kids(i)) scratch_.push_back(BuildExpr(c));
        return NewExprFrom(mark, ExprKind::kList, SpanOf(i));
      }
      case NodeKind::map_lit: {
        const size_t mark = scratch_.size();
        for (uint32_t entry : Kids(i)) {
          for (uint32_t c : Kids(entry)) {
            if (n_[c].kind == NodeKind::map_key_word) {
              scratch_.push_back(Literal(c, Value::String(std::string(Text(c)))));
            } else {
              scratch_.push_back(BuildExpr(c));
            }
          }
        }
        return NewExprFrom(mark, ExprKind::kMap, SpanOf(i));
      }
      case NodeKind::paren_expr:
        return BuildExpr(i + 1);
      default:
        Error(SpanOf(i), "unexpected syntax node");
        return Literal(i, Value());
    }
  }


  // Whether unary node i is just the int literal 9223372036854775808 (2^63).
  bool IsMinIntMagnitude(uint32_t i) {
    uint32_t only = 0, count = 0;
    for (uint32_t k : Kids(i)) {
      only = k;
      ++count;
    }
    if (count != 1 || n_[only].kind != NodeKind::int_lit) return false;
    uint64_t u = 0;
    return ParseUnsignedLiteral(Text(only), &u) && u == (uint64_t{1} << 63);
  }

  Value IntValue(uint32_t i) {
    uint64_t u = 0;
    if (!ParseUnsignedLiteral(Text(i), &u) ||
        u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Error(SpanOf(i), "integer literal out of range for int",
            "ints are 64-bit; use a uint (42u) or a double (4.2e19)");
      return Value::Int(0);
    }
    return Value::Int(static_cast<int64_t>(u));
  }

  int64_t IntOf(uint32_t i) {
    const Value v = IntValue(i);
    return v.as_int();
  }

  Duration DurationValue(uint32_t i) {
    std::string_view t = Text(i);
    __int128 total = 0;
    while (!t.empty()) {
      size_t k = 0;
      while (k < t.size() && t[k] >= '0' && t[k] <= '9') ++k;
      uint64_t amount = 0;
      std::from_chars(t.data(), t.data() + k, amount);
      t.remove_prefix(k);
      int64_t unit = 0;
      if (t.rfind("ms", 0) == 0) {
        unit = 1'000'000;
        t.remove_prefix(2);
      } else if (t.rfind("us", 0) == 0) {
        unit = 1'000;
        t.remove_prefix(2);
      } else if (t.rfind("ns", 0) == 0) {
        unit = 1;
        t.remove_prefix(2);
      } else {
        switch (t.empty() ? 's' : t[0]) {
          case 's': unit = 1'000'000'000; break;
          case 'm': unit = 60'000'000'000; break;
          case 'h': unit = 3'600'000'000'000; break;
          default: unit = 86'400'000'000'000; break;
        }
        t.remove_prefix(1);
      }
      total += static_cast<__int128>(amount) * unit;
      if (total > std::numeric_limits<int64_t>::max()) {
        Error(SpanOf(i), "duration literal out of range", "durations reach about 292 years");
        return Duration{0};
      }
    }
    return Duration{static_cast<int64_t>(total)};
  }

  Money MoneyValue(uint32_t i) {
    std::string_view t = Text(i);
    size_t k = 0;
    while (k < t.size() && ((t[k] >= '0' && t[k] <= '9') || t[k] == '.')) ++k;
    const std::string_view num = t.substr(0, k);
    std::string_view cur = t.substr(k);
    while (!cur.empty() && (cur.front() == ' ' || cur.front() == '\t' ||
                            cur.front() == '\n' || cur.front() == '\r')) {
      cur.remove_prefix(1);
    }
    const size_t dot = num.find('.');
    const std::string_view whole = num.substr(0, dot);
    std::string frac(dot == std::string_view::npos ? "" : num.substr(dot + 1));
    if (frac.size() > 9) {
      Error(SpanOf(i), "money has at most 9 decimal places");
      frac.resize(9);
    }
    frac.resize(9, '0');
    uint64_t w = 0, f = 0;
    std::from_chars(whole.data(), whole.data() + whole.size(), w);
    std::from_chars(frac.data(), frac.data() + frac.size(), f);
    if (w > 9'000'000'000ULL) {
      Error(SpanOf(i), "money literal out of range", "amounts reach 9 billion units");
      w = 0;
    }
    return Money{static_cast<int64_t>(w * 1'000'000'000ULL + f), std::string(cur)};
  }



  // A string literal: a plain literal, or an interpolation of parts.
  ExprPtr BuildString(uint32_t i) {
    std::vector<ExprPtr> parts;
    std::string pending;
    bool interpolated = false;
    for (uint32_t c : Kids(i)) {
      switch (n_[c].kind) {
        case NodeKind::str_chars:
        case NodeKind::raw_chars:
          pending += Text(c);
          break;
        case NodeKind::escape_seq:
          AppendEscaped(pending, Text(c));
          break;
        case NodeKind::interp: {
          interpolated = true;
          if (!pending.empty()) {
            parts.push_back(Literal(c, Value::String(std::move(pending))));
            pending.clear();
          }
          parts.push_back(BuildExpr(c + 1));
          break;
        }
        default:
          break;
      }
    }
    if (!interpolated) return Literal(i, Value::String(std::move(pending)));
    if (!pending.empty()) parts.push_back(Literal(i, Value::String(std::move(pending))));
    return NewExpr(ExprKind::kInterp, SpanOf(i), "", ExprList(parts));
  }

  // The value of a string literal node that must not interpolate.
  std::optional<std::string> StringValue(uint32_t i) {
    ExprPtr e = BuildString(i);
    if (e->kind == ExprKind::kLiteral) return e->literal().as_string();
    Error(SpanOf(i), "interpolation is not allowed here");
    return std::nullopt;
  }

  // ---------------------------------------------------------------- types
  TypeRefPtr BuildTypeRef(uint32_t i);
  Field BuildField(uint32_t i, bool is_key);
  void Name(uint32_t i, std::string* name, Span* span);
  TypeDecl BuildType(uint32_t i);
  Setting BuildSetting(uint32_t i);
  ConnectorDecl BuildConnector(uint32_t i);
  AgentDecl BuildAgent(uint32_t i);
  TriggerDecl BuildTrigger(uint32_t i);
  TransformDecl BuildTransform(uint32_t i);
  MigrationDecl BuildMigration(uint32_t i);
  int VersionOf(uint32_t i);  // "v3" -> 3

  RetrySpec BuildRetry(uint32_t i) {
    RetrySpec r;
    r.span = SpanOf(i);
    for (uint32_t c : Kids(i)) {
      switch (n_[c].kind) {
        case NodeKind::retry_count:
          r.attempts = IntOf(c);
          break;
        case NodeKind::backoff_base:
          r.backoff = DurationValue(c);
          break;
        case NodeKind::backoff_factor: {
          const std::string s(Text(c));
          r.factor = std::strtod(s.c_str(), nullptr);
          break;
        }
        case NodeKind::backoff_max:
          r.max_delay = DurationValue(c);
          break;
        case NodeKind::backoff_jitter:
          r.jitter = true;
          break;
        case NodeKind::error_kind:
          r.on.emplace_back(Text(c));
          r.on_spans.push_back(SpanOf(c));
          break;
        default:
          break;
      }
    }
    return r;
  }

  std::unique_ptr<Call> BuildCall(uint32_t i) {
    auto call = std::make_unique<Call>();
    call->span = SpanOf(i);
    for (uint32_t c : Kids(i)) {
      if (n_[c].kind == NodeKind::call_name) {
        // Drop the spaces a dotted name may contain: `cms . post`.
        for (char ch : Text(c)) {
          if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') call->callee += ch;
        }
        call->callee_span = SpanOf(c);
      }
    }
    // The arguments are `arg` children of the call node itself (call_args is
    // not a node of its own).
    const size_t mark = scratch_.size();
    std::vector<std::string_view> names;
    AddArgs(i, scratch_, &names);
    call->args = pool_->Copy(ExprList(scratch_.data() + mark, scratch_.size() - mark));
    call->arg_names = pool_->Copy(std::span<const std::string_view>(names));
    scratch_.resize(mark);
    return call;
  }

  Modifier BuildModifier(uint32_t i) {
    Modifier m;
    m.span = SpanOf(i);
    switch (n_[i].kind) {
      case NodeKind::mod_retry:
        m.kind = ModifierKind::kRetry;
        m.retry = std::make_unique<RetrySpec>(BuildRetry(Child(i, NodeKind::retry_spec)));
        break;
      case NodeKind::mod_timeout:
        m.kind = ModifierKind::kTimeout;
        m.value = BuildExpr(i + 1);
        break;
      case NodeKind::mod_cache: {
        m.kind = ModifierKind::kCache;
        if (uint32_t c = Child(i, NodeKind::cache_ttl)) m.ttl = DurationValue(c);
        break;
      }
      case NodeKind::mod_key:
        m.kind = ModifierKind::kKey;
        m.value = BuildExpr(i + 1);
        break;
      case NodeKind::mod_compensate:
        m.kind = ModifierKind::kCompensate;
        m.call = BuildCall(i + 1);
        break;
      case NodeKind::mod_confirm:
        m.kind = ModifierKind::kConfirm;
        break;
      case NodeKind::mod_escalate:
        m.kind = ModifierKind::kEscalate;
        m.count = IntOf(Child(i, NodeKind::int_lit));
        break;
      default:
        m.kind = ModifierKind::kDescribe;
        m.value = BuildExpr(i + 1);
        break;
    }
    return m;
  }

  static bool IsModifier(NodeKind k) {
    switch (k) {
      case NodeKind::mod_retry:
      case NodeKind::mod_timeout:
      case NodeKind::mod_cache:
      case NodeKind::mod_key:
      case NodeKind::mod_compensate:
      case NodeKind::mod_confirm:
      case NodeKind::mod_escalate:
      case NodeKind::mod_describe:
        return true;
      default:
        return false;
    }
  }

  static bool IsStmt(NodeKind k) {
    switch (k) {
      case NodeKind::step_stmt:
      case NodeKind::effect_stmt:
      case NodeKind::approval_stmt:
      case NodeKind::wait_stmt:
      case NodeKind::signal_stmt:
      case NodeKind::let_stmt:
      case NodeKind::for_stmt:
      case NodeKind::output_stmt:
      case NodeKind::fail_stmt:
        return true;
      default:
        return false;
    }
  }

  void CheckWord(uint32_t c, std::initializer_list<std::string_view> allowed,
                 const char* what) {
    const std::string_view w = Text(c);
    for (auto a : allowed) {
      if (w == a) return;
    }
    std::vector<std::string> options(allowed.begin(), allowed.end());
    std::string list;
    for (size_t k = 0; k < options.size(); ++k) {
      list += (k == 0 ? "" : k + 1 == options.size() ? " or " : ", ") + options[k];
    }
    auto& d = diags_.Error(src_, SpanOf(c), "E001",
                           "'" + std::string(w) + "' is not " + what);
    if (auto s = ClosestMatch(w, options)) {
      d.hints.push_back("did you mean '" + *s + "'?");
    } else {
      d.hints.push_back("expected " + list);
    }
  }

  StmtPtr BuildStmt(uint32_t i) {
    auto s = std::make_unique<Stmt>();
    s->span = SpanOf(i);
    switch (n_[i].kind) {
      case NodeKind::step_stmt: s->kind = StmtKind::kStep; break;
      case NodeKind::effect_stmt: s->kind = StmtKind::kEffect; break;
      case NodeKind::approval_stmt: s->kind = StmtKind::kApproval; break;
      case NodeKind::wait_stmt: s->kind = StmtKind::kWait; break;
      case NodeKind::signal_stmt: s->kind = StmtKind::kSignal; break;
      case NodeKind::let_stmt: s->kind = StmtKind::kLet; break;
      case NodeKind::for_stmt: s->kind = StmtKind::kFor; break;
      case NodeKind::output_stmt: s->kind = StmtKind::kOutput; break;
      default: s->kind = StmtKind::kFail; break;
    }
    for (uint32_t c : Kids(i)) {
      const NodeKind k = n_[c].kind;
      if (k == NodeKind::stmt_name) {
        s->name = Text(c);
        s->name_span = SpanOf(c);
      } else if (k == NodeKind::call) {
        s->call = BuildCall(c);
      } else if (IsModifier(k)) {
        s->modifiers.push_back(BuildModifier(c));
      } else if (k == NodeKind::expr) {
        s->value = BuildExpr(c);
      } else if (k == NodeKind::when_clause) {
        if (s->when) Error(SpanOf(c), "a statement takes one 'when'", "join conditions with &&");
        s->when = BuildExpr(c + 1);
      } else if (k == NodeKind::after_name) {
        s->after.push_back(Stmt::After{Text(c), SpanOf(c)});
      } else if (k == NodeKind::approval_ask) {
        s->mutable_waits().ask = BuildExpr(c + 1);
      } else if (k == NodeKind::approval_show) {
        s->mutable_waits().show = BuildExpr(c + 1);
      } else if (k == NodeKind::approval_explain) {
        s->mutable_waits().explain = BuildExpr(c + 1);
      } else if (k == NodeKind::approval_timeout || k == NodeKind::signal_timeout) {
        s->mutable_waits().timeout = BuildExpr(c + 1);
        if (uint32_t a = Child(c, NodeKind::on_timeout_action)) {
          s->mutable_waits().on_timeout = Text(a);
          s->mutable_waits().on_timeout_span = SpanOf(a);
          if (k == NodeKind::signal_timeout) {
            CheckWord(a, {"fail", "null"}, "a signal's on_timeout action");
          } else {
            CheckWord(a, {"reject", "approve", "fail", "escalate"}, "an on_timeout action");
          }
        }
      } else if (k == NodeKind::approval_returns) {
        s->mutable_waits().returns = BuildTypeRef(c + 1);
      } else if (k == NodeKind::approval_approvers) {
        s->mutable_waits().approvers = BuildExpr(c + 1);
      } else if (k == NodeKind::wait_for) {
        s->mutable_waits().wait_for = BuildExpr(c + 1);
      } else if (k == NodeKind::wait_until) {
        s->mutable_waits().wait_until = BuildExpr(c + 1);
      } else if (k == NodeKind::signal_event) {
        if (auto v = StringValue(c + 1)) s->mutable_waits().event = *v;
      } else if (k == NodeKind::loop_var) {
        s->mutable_loop().loop_var = Text(c);
        s->mutable_loop().loop_var_span = SpanOf(c);
      } else if (k == NodeKind::for_max) {
        s->mutable_loop().max_parallel = IntOf(c + 1);
      } else if (IsStmt(k)) {
        s->mutable_loop().body.push_back(BuildStmt(c));
      }
    }
    if (s->kind == StmtKind::kSignal && s->mutable_waits().event.empty()) s->mutable_waits().event = s->name;
    s->after.shrink_to_fit();  // a join names many: no room to grow
    return s;
  }

  WorkflowDecl BuildWorkflow(uint32_t i) {
    WorkflowDecl w;
    // Statements and settings streamed while parsing come first: they are
    // no longer in the tree (ParseState::on_item).
    if (auto it = streamed_.find(i); it != streamed_.end()) {
      w = std::move(it->second);
      streamed_.erase(it);
    }
    w.span = SpanOf(i);
    Name(i, &w.name, &w.name_span);
    for (uint32_t c : Kids(i)) {
      const NodeKind k = n_[c].kind;
      if (k == NodeKind::param) {
        w.params.push_back(BuildField(c, false));
      } else if (k == NodeKind::return_type) {
        w.return_type = BuildTypeRef(c + 1);
      } else {
        AddItem(w, c);
      }
    }
    return w;
  }

 public:
  // ParseState::on_item: converts one parsed statement or setting of the
  // workflow whose node is `workflow`.
  static void OnItem(g::ParseState& s, uint32_t workflow, uint32_t first, void* self) {
    auto* conv = static_cast<Converter*>(self);
    WorkflowDecl& w = conv->streamed_[workflow];
    for (uint32_t c = first; c < s.nodes.size(); c += s.nodes[c].size) conv->AddItem(w, c);
  }

 private:
  void AddItem(WorkflowDecl& w, uint32_t c) {
    {
      const NodeKind k = n_[c].kind;
      if (k == NodeKind::set_budget) {
        w.budget = BuildExpr(c + 1);
        w.settings_span = SpanOf(c);
        if (uint32_t p = Child(c, NodeKind::budget_period)) {
          CheckWord(p, {"month", "day"}, "a budget period");
          w.budget_per = Text(p);
        }
      } else if (k == NodeKind::set_concurrency) {
        w.concurrency = IntOf(c + 1);
      } else if (k == NodeKind::set_retry) {
        w.retry = BuildRetry(c + 1);
      } else if (k == NodeKind::set_on_failure) {
        const uint32_t p = Child(c, NodeKind::failure_policy);
        const std::string_view t = Text(p);
        CheckWord(p, {"compensate", "fail", "escalate"}, "a failure policy");
        w.on_failure = t == "compensate" ? FailurePolicy::kCompensate
                       : t == "fail"     ? FailurePolicy::kFail
                       : t == "escalate" ? FailurePolicy::kEscalate
                                         : FailurePolicy::kDefault;
      } else if (IsStmt(k)) {
        w.body.push_back(BuildStmt(c));
      }
    }
  }

  std::map<uint32_t, WorkflowDecl> streamed_;  // by workflow node index
  std::unique_ptr<ExprPool> pool_ = std::make_unique<ExprPool>();
  std::vector<Expr*> scratch_;  // argument lists being gathered (NewExprFrom)
  const g::Stack<g::FlatNode>& n_;
  std::string_view text_;
  const SourceFile* src_;
  Diagnostics& diags_;
};

}  // namespace aos::parsing

#endif  // AOS_LANG_PARSER_CONVERTER_H_
