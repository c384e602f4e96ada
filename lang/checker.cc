#include "lang/checker.h"

#include "lang/workflow_checker.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "lang/check_common.h"
#include "lang/decl_checker.h"
#include "lang/eval.h"
#include "lang/parser.h"
#include "lang/regex.h"
#include "lang/spelling.h"
#include "lang/trigger_check.h"

namespace aos {

namespace checking {

std::string WorkflowChecker::CheckAlone(const Expr& e, const TypeRef* want) {
  dag_ = std::make_unique<Dag>();
  dag_->workflow = &wf_;
  dag_->source = src_;
  CheckParams();
  // One node stands for the expression's place (names resolve from it).
  Stmt place;
  place.kind = StmtKind::kOutput;
  DagNode n;
  n.name = wf_.name;
  n.stmt = &place;
  n.type = AnyType();
  dag_->nodes.push_back(std::move(n));
  type_state_.assign(1, 0);
  used_.assign(1, false);
  Ctx c;
  TypePtr t = CheckExpr(e, c);
  if (!want) return "";
  TypePtr w = ResolveType(want);
  if (IsAny(t) || IsAny(w) || Assignable(*t, *w)) return "";
  return "is " + TypeToString(*t) + ", but it is passed where " + TypeToString(*w) + " is declared";
}

std::unique_ptr<Dag> WorkflowChecker::Run() {
  dag_ = std::make_unique<Dag>();
  dag_->workflow = &wf_;
  dag_->source = src_;
  CheckParams();
  CheckSettings();
  dag_->nodes.reserve(CountStmts(wf_.body));
  next_named_.reserve(dag_->nodes.capacity());
  by_name_.reserve(dag_->nodes.capacity());
  for (const auto& s : wf_.body) AddNode(*s, -1);
  type_state_.assign(dag_->nodes.size(), 0);
  used_.assign(dag_->nodes.size(), false);
  for (uint32_t i = 0; i < dag_->nodes.size(); ++i) {
    CheckNode(i);
    dag_->nodes[i].deps.shrink_to_fit();  // final: no room to grow
  }
  FindCycles();
  OrderDag(*dag_);
  Lint();
  return std::move(dag_);
}

}  // namespace checking

namespace {

using namespace checking;


}  // namespace

CallTarget Program::Target(const Call& call) const {
  if (call.target.known()) return call.target;
  return ResolveCall(CallScope{types, connectors, agents}, call.callee);
}

const Dag* Program::FindWorkflow(const std::string& name, std::string* error) const {
  if (name.empty()) {
    if (workflows.size() == 1) return workflows.front().get();
    if (workflows.empty()) {
      *error = "the file declares no workflow";
    } else {
      *error = "the file declares several workflows; choose one with --workflow NAME (";
      for (size_t i = 0; i < workflows.size(); ++i) {
        *error += (i ? ", " : "") + workflows[i]->workflow->name;
      }
      *error += ")";
    }
    return nullptr;
  }
  for (const auto& w : workflows) {
    if (w->workflow->name == name) return w.get();
  }
  *error = "no workflow named '" + name + "'";
  return nullptr;
}

std::unique_ptr<Program> LoadProgram(const std::string& path, std::string text,
                                     const CheckOptions& options, Diagnostics& diags) {
  auto prog = std::make_unique<Program>();
  DeclChecker decls(*prog, options, diags);
  // Load the main file, then imports breadth-first; each file once.
  std::set<std::string> loaded;
  struct Pending {
    std::string path;
    std::string text;
    const SourceFile* from;
    Span at;
  };
  std::vector<Pending> queue;
  queue.push_back(Pending{path, std::move(text), nullptr, Span{}});
  bool main_parsed = false;
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    Pending p = std::move(queue[qi]);
    std::error_code ec;
    const std::string canonical =
        std::filesystem::weakly_canonical(std::filesystem::path(p.path), ec).string();
    if (!loaded.insert(ec ? p.path : canonical).second) continue;
    if (p.from) {
      if (!ReadFileText(p.path, &p.text)) {
        auto& d = diags.Error(p.from, p.at, "E151", "cannot read imported file " + Quote(p.path));
        d.hints.push_back("import paths are relative to the importing file");
        continue;
      }
    }
    auto src = std::make_unique<SourceFile>(p.path, std::move(p.text));
    auto module = ParseModule(*src, diags);
    if (!module) {
      // Diagnostics point into the source: it lives as long as the program.
      prog->sources.push_back(std::move(src));
      if (qi == 0) return prog;
      continue;
    }
    if (qi == 0) main_parsed = true;
    const std::filesystem::path dir = std::filesystem::path(p.path).parent_path();
    for (const auto& imp : module->imports) {
      queue.push_back(Pending{(dir / imp.path).string(), "", src.get(), imp.span});
    }
    decls.Register(*module, src.get());
    prog->sources.push_back(std::move(src));
    prog->modules.push_back(std::move(module));
  }
  if (!main_parsed) return prog;
  decls.CheckAll();
  // Workflows of the main file only; imported files lend declarations.
  const Module& main = *prog->modules.front();
  for (const auto& w : main.workflows) {
    WorkflowChecker wc(*prog, prog->sources.front().get(), w, options, diags);
    prog->workflows.push_back(wc.Run());
  }
  CheckTriggers(*prog, main, prog->sources.front().get(), diags);
  for (const auto& t : main.triggers) prog->triggers.push_back(&t);
  diags.Sort();
  return prog;
}

namespace {
TypeRefPtr CloneTypeRef(const TypeRef& t) {
  auto c = std::make_unique<TypeRef>();
  c->span = t.span;
  c->name = t.name;
  c->optional = t.optional;
  for (const auto& p : t.params) c->params.push_back(CloneTypeRef(*p));
  return c;
}
}  // namespace

std::string CheckBoundExpr(Program& program, const SourceFile* src, const Expr& e,
                           const std::vector<std::pair<std::string, const TypeRef*>>& bound, const TypeRef* want,
                           Diagnostics& diags) {
  WorkflowDecl wf;
  wf.name = "(trigger)";
  for (const auto& [name, type] : bound) {
    Field f;
    f.name = name;
    f.type = CloneTypeRef(*type);
    wf.params.push_back(std::move(f));
  }
  return WorkflowChecker(program, src, wf, CheckOptions{}, diags).CheckAlone(e, want);
}

Value InputValue(const std::string& text) {
  std::string error;
  if (auto v = ParseJson(text, &error)) return *v;
  return Value::String(text);
}

}  // namespace aos
