// The abstract syntax tree of a .aos module, as lang/parser.cc builds it from
// the grammar's flat tree. Every node keeps its source span (byte offsets into
// the module's text) so that late errors point at source.
//
// The AST is plain data, owned by its Module, and not changed after parsing;
// the checker annotates it from the outside (see checker.h) and the DAG
// (dag.h) points into it.
#ifndef AOS_LANG_AST_H_
#define AOS_LANG_AST_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lang/value.h"

namespace aos {

// A half-open byte range [begin, end) in one source file.
struct Span {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// ------------------------------------------------------------ expressions
enum class ExprKind : uint8_t {
  kLiteral,  // literal: value
  kIdent,    // name
  kMember,   // args[0].name
  kIndex,    // args[0][args[1]]
  kCall,     // name(args...) or args[0].name(args[1]...) when has_receiver
  kUnary,    // name is "!" or "-"; args[0]
  kBinary,   // name is the operator ("+", "&&", "in", ...); args[0], args[1]
  kCond,     // args[0] ? args[1] : args[2]
  kList,     // [args...]
  kMap,      // {args[0]: args[1], args[2]: args[3], ...}
  kInterp,   // "a${b}c": args are the parts; string literals and expressions
};

struct Expr;
// Expressions live in their module's ExprPool: the AST points at them.
using ExprPtr = Expr*;
using ExprList = std::span<Expr* const>;

// An expression node: 56 bytes. A literal has its value and nothing else;
// the other kinds have a name (some empty) and arguments, which share its
// room. Read them through name(), args() and literal(); the parser writes
// them through ExprPool.
struct Expr {
  ExprKind kind;
  bool has_receiver = false;
  uint32_t nargs_ = 0;
  Span span;

  Expr(ExprKind k, Span s) : kind(k), span(s) {
    if (k == ExprKind::kLiteral) {
      new (&literal_) Value();
    } else {
      new (&ref_) Ref{};
    }
  }
  ~Expr() {
    if (kind == ExprKind::kLiteral) literal_.~Value();
  }
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  // The identifier, member, function or operator ("" for a literal): a view
  // into the source text (which outlives the AST, see Module) or into a
  // string literal.
  std::string_view name() const { return kind == ExprKind::kLiteral ? std::string_view() : ref_.name; }
  ExprList args() const {
    return kind == ExprKind::kLiteral ? ExprList() : ExprList(ref_.args, nargs_);
  }
  // A literal's value (null for the other kinds).
  const Value& literal() const { return kind == ExprKind::kLiteral ? literal_ : kNullLiteral; }

  struct Ref {
    std::string_view name;
    Expr* const* args = nullptr;
  };
  union {
    Value literal_;  // kLiteral
    Ref ref_;        // the other kinds
  };
  static const Value kNullLiteral;
};

// Where a module's expressions live: nodes in blocks (no allocation of
// their own) and argument lists as exact arrays. Nodes do not move.
class ExprPool {
 public:
  Expr* New(ExprKind k, Span s) { return &nodes_.emplace_back(k, s); }
  Expr* Literal(Span s, Value v) {
    Expr* e = New(ExprKind::kLiteral, s);
    e->literal_ = std::move(v);
    return e;
  }
  // Sets e's arguments to a copy of `args` (e is not a literal).
  void SetArgs(Expr* e, ExprList args) {
    const ExprList copy = Copy(args);
    e->nargs_ = static_cast<uint32_t>(copy.size());
    e->ref_.args = copy.data();
  }
  // Copies kept by the pool (for a statement call's arguments and names).
  ExprList Copy(ExprList args) { return ExprList(args_.Put(args), args.size()); }
  std::span<const std::string_view> Copy(std::span<const std::string_view> names) {
    return std::span<const std::string_view>(names_.Put(names), names.size());
  }

 private:
  // Arrays of trivially copyable T in blocks of 4,096 (a longer one gets a
  // block of its own).
  template <typename T>
  class Arrays {
   public:
    T* Put(std::span<const T> items);

   private:
    std::vector<std::unique_ptr<T[]>> blocks_;
    T* free_ = nullptr;  // the unused part of blocks_.back()
    size_t left_ = 0;
  };
  std::deque<Expr> nodes_;
  Arrays<Expr*> args_;
  Arrays<std::string_view> names_;
};

// ------------------------------------------------------------ types
struct TypeRef;
using TypeRefPtr = std::unique_ptr<TypeRef>;
struct TypeRef {
  Span span;
  std::string name;  // "list", "map", or a scalar / declared type name
  std::vector<TypeRefPtr> params;
  bool optional = false;
};

struct Field {
  Span span;
  std::string name;
  Span name_span;
  TypeRefPtr type;
  ExprPtr default_value = nullptr;  // may be null
  bool is_key = false;
  bool is_identity = false;  // `identity`: an alternate unique key (entities)
};

// ------------------------------------------------------------ declarations
struct TypeDecl {
  Span span;
  std::string name;
  Span name_span;
  std::vector<Field> fields;
  bool is_entity = false;  // entity: exactly one field has is_key
  // An entity's indexed fields (`index F`), in file order.
  struct Index {
    std::string_view field;  // a view into the source
    Span span;
  };
  std::vector<Index> indexes;

  // The field called `name`, or null.
  const Field* FindField(std::string_view name) const {
    for (const auto& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  // The key field (an entity's), or null.
  const Field* KeyField() const {
    for (const auto& f : fields) {
      if (f.is_key) return &f;
    }
    return nullptr;
  }
  bool HasIdentity() const {
    for (const auto& f : fields) {
      if (f.is_identity) return true;
    }
    return false;
  }
};

struct Setting {
  Span span;
  std::string key;
  Span key_span;
  ExprPtr value = nullptr;       // null for an agent's `output: T`
  TypeRefPtr type;     // only for an agent's `output: T`
};

struct ConnectorDecl {
  Span span;
  std::string name;
  Span name_span;
  std::string kind;  // "http"
  Span kind_span;
  std::vector<Setting> settings;
};

struct AgentDecl {
  Span span;
  std::string name;
  Span name_span;
  std::vector<Setting> settings;
};

// A call written as a statement's right-hand side: `http.get(url, query: q)`.
// Where a call goes: a built-in namespace, or a declaration of the program.
enum class CallNs : uint8_t { kUnknown, kHttp, kConnector, kLlm, kAgent, kEmail, kKv, kKb, kEntity };

struct MethodSpec;  // a row of the table of calls (lang/builtins.h)

// A call resolved against a program: where it goes, the method's row and the
// declaration it goes through. Unknown (spec null) when it is not a call of
// the program.
struct CallTarget {
  CallNs ns = CallNs::kUnknown;
  const MethodSpec* spec = nullptr;
  const void* decl = nullptr;  // the ConnectorDecl, AgentDecl or TypeDecl, by ns

  bool known() const { return spec != nullptr; }
  const ConnectorDecl* connector() const {
    return ns == CallNs::kConnector ? static_cast<const ConnectorDecl*>(decl) : nullptr;
  }
  const AgentDecl* agent() const { return ns == CallNs::kAgent ? static_cast<const AgentDecl*>(decl) : nullptr; }
  const TypeDecl* entity() const { return ns == CallNs::kEntity ? static_cast<const TypeDecl*>(decl) : nullptr; }
};

struct Call {
  Span span;
  std::string callee;  // dotted: "http.get", "writer.ask", "Lead.list"
  Span callee_span;
  ExprList args;  // in the module's ExprPool
  // One per argument, "" for positional ones (in the pool too); views into
  // the source text, which outlives the AST (see Module).
  std::span<const std::string_view> arg_names;
  // Filled in by the checker, which resolves each call once (for plan and
  // the runner: Program::Target).
  mutable CallTarget target;
};

struct RetrySpec {
  Span span;
  int64_t attempts = 0;               // additional attempts after the first
  std::optional<Duration> backoff;    // first delay
  double factor = 1.0;                // multiplier per attempt
  std::optional<Duration> max_delay;
  bool jitter = false;
  std::vector<std::string> on;        // empty: the default retryable kinds
  std::vector<Span> on_spans;
};

enum class ModifierKind {
  kRetry,
  kTimeout,
  kCache,
  kKey,
  kCompensate,
  kConfirm,
  kEscalate,
  kDescribe,
};

struct Modifier {
  ModifierKind kind;
  Span span;
  std::unique_ptr<RetrySpec> retry;  // kRetry
  ExprPtr value = nullptr;                   // kTimeout, kKey, kDescribe
  std::optional<Duration> ttl;     // kCache (none: the default)
  std::unique_ptr<Call> call;      // kCompensate
  int64_t count = 0;               // kEscalate
};

enum class StmtKind {
  kStep,
  kEffect,
  kApproval,
  kWait,
  kSignal,
  kLet,
  kFor,
  kOutput,
  kFail,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

// What only approval, wait and signal statements have: most statements are
// steps, and these fields were a third of every Stmt (Stmt::waits()).
struct WaitParts {
  // approval
  ExprPtr ask = nullptr;
  ExprPtr show = nullptr;
  ExprPtr explain = nullptr;  // shown beside ask; part of the payload hash
  TypeRefPtr returns;
  ExprPtr approvers = nullptr;
  // approval, signal
  ExprPtr timeout = nullptr;
  std::string_view on_timeout;  // "" when not given; a view into the source
  Span on_timeout_span;
  // wait: `for` duration or `until` time
  ExprPtr wait_for = nullptr;
  ExprPtr wait_until = nullptr;
  // signal: the external event name (defaults to the statement's name)
  std::string event;
};
inline const WaitParts kNoWaitParts{};

// What only `for` statements have (Stmt::loop()).
struct ForParts {
  std::string_view loop_var;  // a view into the source
  Span loop_var_span;
  std::optional<int64_t> max_parallel;
  std::vector<StmtPtr> body;
};

struct Stmt {
  StmtKind kind;
  Span span;
  std::string_view name;  // empty for output and fail
  Span name_span;

  // step, effect
  std::unique_ptr<Call> call;
  std::vector<Modifier> modifiers;

  // approval, wait, signal: their own fields (WaitParts), apart
  std::unique_ptr<WaitParts> wait;
  // The record, or an empty one for the statements without it.
  const WaitParts& waits() const { return wait ? *wait : kNoWaitParts; }
  // The record, made when first needed (the parser).
  WaitParts& mutable_waits() {
    if (!wait) wait = std::make_unique<WaitParts>();
    return *wait;
  }

  // let, output, fail: the value; for: the iterated list
  ExprPtr value = nullptr;

  // for: its own fields (ForParts), apart
  std::unique_ptr<ForParts> for_;
  // The record, or an empty one for the other statements.
  const ForParts& loop() const;
  ForParts& mutable_loop() {
    if (!for_) for_ = std::make_unique<ForParts>();
    return *for_;
  }

  // every statement
  ExprPtr when = nullptr;
  struct After {
    std::string_view name;  // a view into the source
    Span span;
  };
  std::vector<After> after;

  const Modifier* FindModifier(ModifierKind k) const {
    for (const auto& m : modifiers) {
      if (m.kind == k) return &m;
    }
    return nullptr;
  }
};

inline const ForParts& Stmt::loop() const {
  static const ForParts none;
  return for_ ? *for_ : none;
}

enum class FailurePolicy { kDefault, kCompensate, kFail, kEscalate };

struct WorkflowDecl {
  Span span;
  std::string name;
  Span name_span;
  std::vector<Field> params;
  TypeRefPtr return_type;  // may be null

  ExprPtr budget = nullptr;                       // may be null
  std::string_view budget_per;  // "month" or "day": over every run of the period; "" per run
  std::optional<int64_t> concurrency;
  std::optional<RetrySpec> retry;
  FailurePolicy on_failure = FailurePolicy::kDefault;
  Span settings_span;                   // of the last setting, for messages

  std::vector<StmtPtr> body;
};

struct ImportDecl {
  Span span;
  std::string path;
};

// A trigger (serve.md §1): what starts a workflow or signals a run while
// `aosrun serve` runs. Exactly one of schedule, every and webhook is given
// (the checker says so); `start` or `signal` says what happens.
struct TriggerDecl {
  Span span;
  std::string name;
  Span name_span;
  ExprPtr schedule = nullptr;   // a cron expression (string literal)
  ExprPtr every = nullptr;      // a duration
  ExprPtr timezone = nullptr;   // an IANA name (string literal)
  std::string missed = "run_once";  // run_once | skip
  Span missed_span;
  ExprPtr webhook = nullptr;    // the path (string literal), "/hooks/..."
  ExprPtr auth = nullptr;       // bearer(secret(..)) or hmac_sha256(secret(..), header: "..")
  ExprPtr key = nullptr;        // a webhook's dedupe key
  TypeRefPtr body;    // a webhook's `body: T`: what request.json must be
  std::unique_ptr<Call> start;  // workflow(name: expr, ...)
  ExprPtr signal = nullptr;     // the signal's name
  ExprPtr signal_to = nullptr;  // the run it goes to
  ExprPtr signal_with = nullptr;  // its data
};

// One parsed file. Names of call arguments point into the SourceFile it was
// parsed from, which must outlive it.
// `transform NAME vN (x: T) -> R { field: expr ... }` (state.md §2): a
// pure function from a payload to a record of R, called as NAME(x) in any
// expression. Its input is checked against T when it runs (schema.drift).
struct TransformDecl {
  Span span;
  std::string name;
  Span name_span;
  int version = 0;
  Span version_span;
  std::vector<Field> params;  // exactly one (the checker says so)
  TypeRefPtr result;
  std::vector<Setting> fields;  // key: the result's field, value: its expression
  // "name@vN", as provenance names it.
  std::string Tag() const { return name + "@v" + std::to_string(version); }
};

// `migration E vN -> vM { field: expr ... drop f, g }` (state.md §2): how
// stored records of entity E, declared as version N, become version M (the
// file's declaration). Field expressions see `it`, the stored record.
struct MigrationDecl {
  Span span;
  std::string entity;
  Span entity_span;
  int from = 0, to = 0;
  Span from_span, to_span;
  std::vector<Setting> fields;
  struct Drop {
    std::string field;
    Span span;
  };
  std::vector<Drop> drops;
};

struct Module {
  std::unique_ptr<ExprPool> exprs;  // every expression of the file
  std::string version;  // "0.1", or "" when the file has no `aos` line
  std::vector<ImportDecl> imports;
  std::vector<TypeDecl> types;  // types and entities, in file order
  std::vector<ConnectorDecl> connectors;
  std::vector<AgentDecl> agents;
  std::vector<WorkflowDecl> workflows;
  std::vector<TriggerDecl> triggers;
  std::vector<TransformDecl> transforms;
  std::vector<MigrationDecl> migrations;
};

}  // namespace aos

#endif  // AOS_LANG_AST_H_
