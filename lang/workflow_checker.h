// WorkflowChecker: checks one workflow of a program — its statements, names,
// types, calls, dependencies and lints — and lowers it to its Dag. Internal
// to lang/ (checker.h is the interface): declared here, defined by concern
// (as ninja's Plan and Builder are separate rooms):
//   checker.cc        Run, CheckAlone (a trigger's expression), LoadProgram
//   checker_names.cc  nodes, dependencies, names and the scopes they see
//   checker_exprs.cc  types and expressions
//   checker_calls.cc  calls: http, connectors, agents, llm, email, kv, kb,
//                     entities, and the built-in call helpers below
//   checker_stmts.cc  parameters, settings, statements, modifiers, cycles,
//                     lints
#ifndef AOS_LANG_WORKFLOW_CHECKER_H_
#define AOS_LANG_WORKFLOW_CHECKER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lang/builtins.h"
#include "lang/check_common.h"
#include "lang/checker.h"
#include "lang/eval.h"
#include "lang/eval_functions.h"
#include "lang/types.h"

namespace aos::checking {

using Kind = Type::Kind;

// What the checker knows of built-in calls (checker_calls.cc).
bool ArgFits(const Type& t, ArgType want);
TypePtr HttpResultType();
TypePtr ModelResultType(TypePtr data);
TypePtr ApprovalResultType(TypePtr data);
// The result type of a built-in expression function, given its (receiver
// first) argument types; null if `name` is not one.
TypePtr BuiltinResult(std::string_view name, const std::vector<TypePtr>& args);
bool Same(const TypePtr& a, const TypePtr& b);

// An Env for constant folding: every name is unknown.
class NoNamesEnv : public Env {
 public:
  Lookup Find(std::string_view, Value*) const override { return Lookup::kUnknown; }
};

class WorkflowChecker {
 public:
  WorkflowChecker(Program& prog, const SourceFile* src, const WorkflowDecl& wf,
                  const CheckOptions& opts, Diagnostics& diags)
      : prog_(prog), src_(src), wf_(wf), opts_(opts), d_(diags) {}

  // An expression of no workflow (wf_ is a synthetic one whose parameters
  // are the bound names): its type, errors reported. `want`: see
  // CheckBoundExpr.
  std::string CheckAlone(const Expr& e, const TypeRef* want);

  std::unique_ptr<Dag> Run();

 private:
  struct Ctx {
    uint32_t node = 0;
    bool report = true;     // silent when only inferring a type
    bool soft = false;      // inside default()/coalesce()
    bool self_ok = false;   // in an effect's compensate: its own name is fine
    std::vector<std::pair<std::string, TypePtr>> locals;  // macro variables
    bool loop_var_used = false;  // the innermost loop variable was referenced
    bool sibling_used = false;   // a statement of the same for body was referenced
    bool secret = false;         // a secret flows into the value
  };

  // ---------------------------------------------------------------- nodes
  static size_t CountStmts(const std::vector<StmtPtr>& body);

  std::string_view NodeName(const Stmt& s);

  uint32_t AddNode(const Stmt& s, int32_t parent);

  // Whether node `n` is declared in scope `scope` or one enclosing it.
  bool Visible(uint32_t n, int32_t scope) const;

  // Whether `s` is `scope` or one of the for nodes enclosing it.
  bool InChain(int32_t s, int32_t scope) const;

  bool Encloses(int32_t outer, uint32_t n) const;

  void AddDep(Ctx& c, uint32_t target, Span at);

  // ---------------------------------------------------------------- types
  TypePtr ResolveType(const TypeRef* t);

  TypePtr DeclaredType(const std::string& name);

  // Field types of declarations are reported by CheckDecls; here unknown
  // names are just `any`.
  TypePtr ResolveTypeQuiet(const TypeRef* t);

  TypePtr TypeOfNode(uint32_t n);

  // ---------------------------------------------------------------- names
  // The for node whose loop variable is `name`, enclosing scope `scope`.
  int32_t LoopVarFor(std::string_view name, int32_t scope) const;

  std::vector<std::string> VisibleNames(const Ctx& c) const;

  TypePtr ResolveIdent(const Expr& e, Ctx& c);

  TypePtr LoopVarType(uint32_t f);

  // ---------------------------------------------------------------- exprs
  void TypeError(Ctx& c, Span s, std::string msg, std::string hint = "");

  void Expect(Ctx& c, const Expr& e, const TypePtr& t, Kind want, const char* what);

  TypePtr LiteralType(const Value& v);

  TypePtr CheckExpr(const Expr& e, Ctx& c);

  TypePtr CheckMember(const Expr& e, const TypePtr& obj, Ctx& c);

  TypePtr CheckBinary(const Expr& e, Ctx& c);

  TypePtr CheckExprCall(const Expr& e, Ctx& c);

  // ---------------------------------------------------------------- calls
  // Resolves the call by the table (lang/builtins.h), once: the target is
  // kept in the program for plan and the runner. Reports an unknown call.
  CallTarget ResolveCallee(const Call& call, Ctx& c);

  // Checks the arguments against the method's row.
  void CheckArgs(const Call& call, const MethodSpec& m, const std::vector<TypePtr>& args, Ctx& c);

  // The type a resolved call returns.
  TypePtr ResultOf(const Call& call, const CallTarget& k, Ctx& c);

  TypePtr CheckCall(const Call& call, Ctx& c, StmtKind kind);

  TypePtr AgentOutputType(const AgentDecl& a);

  // The fields of a record given to upsert (the key required) or of a
  // patch's changes (the key refused).
  // E.find's one named argument: an indexed field, with a value of its type.
  void CheckFindArgs(const Call& call, const TypeDecl& ent, const std::vector<TypePtr>& args, Ctx& c);
  TypePtr RefKeyType(const TypeRef* t);
  void CheckEntityRecord(const TypeDecl& ent, const Expr& arg, const TypePtr& et, Ctx& c, bool patch);
  // NAME(x) of transform t: one argument of its parameter's type; a record of its result.
  TypePtr TransformCall(const Expr& e, const TransformDecl& t, const std::vector<TypePtr>& args, Ctx& c);
  // E.resolve({F: v}): each F an identity field of ent (E110, E107).
  void CheckIdentities(const TypeDecl& ent, const Expr& arg);

  void CheckAllowed(const Call& call, const CallTarget& k);

 private:
  void CheckModelName(const Expr& e) { checking::CheckModelName(e, opts_, src_, d_); }

  // ---------------------------------------------------------------- statements
  void CheckParams();

  void CheckSettings();

  void CheckRetry(const RetrySpec& r);

  void CheckExprAs(const ExprPtr& e, Ctx& c, Kind want, const char* what);

  void CheckNode(uint32_t id);

  void CheckModifiers(const Stmt& s, uint32_t id, Ctx& c);

  // ---------------------------------------------------------------- cycles
  // Depth-first search over the dependency edges, iterative so that a chain
  // of 100,000 statements does not exhaust the stack.
  void FindCycles();

  void ReportCycle(const std::vector<std::pair<uint32_t, size_t>>& stack, uint32_t v,
                   std::set<std::set<uint32_t>>& reported);

  // ---------------------------------------------------------------- lints
  bool IsReadStep(const Stmt& s);

  void Lint();
  void LintParallelUpserts(uint32_t for_node);
  // W207: an approval's `show` whose value can exceed 4 KB.
  void LintShowSize(const Expr& show, const TypePtr& type, Ctx& c);

  Program& prog_;
  const SourceFile* src_;
  const WorkflowDecl& wf_;
  const CheckOptions& opts_;
  Diagnostics& d_;
  std::unique_ptr<Dag> dag_;
  // The statements of each name (views of Stmt::name), in file order: the
  // first and last, and from each the next one (a chain in next_named_).
  struct Named {
    uint32_t first;
    uint32_t last;
  };
  static constexpr uint32_t kNoNode = UINT32_MAX;
  std::unordered_map<std::string_view, Named> by_name_;
  std::vector<uint32_t> next_named_;  // by node
  template <typename F>
  void ForEachNamed(const Named& n, F f) const {
    for (uint32_t id = n.first; id != kNoNode; id = next_named_[id]) f(id);
  }
  std::map<std::string, TypePtr> params_;
  std::map<std::string, TypePtr> record_types_;
  std::map<uint32_t, TypePtr> loop_types_;
  std::vector<int> type_state_;
  std::vector<bool> used_;
  std::map<std::string, std::string> key_texts_;  // an effect key's text -> the effect
  const Stmt* output_seen_ = nullptr;
};

}  // namespace aos::checking

#endif  // AOS_LANG_WORKFLOW_CHECKER_H_
