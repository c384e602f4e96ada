// The checker: loads a .aos file and its imports, resolves names, checks the
// types of expressions where they are known, runs the lints of language.md
// §3.2 and §9.4, and lowers each workflow to its Dag (dag.h).
//
// A Program owns everything it was built from (sources, ASTs, DAGs), so the
// spans and pointers inside stay valid as long as it lives.
#ifndef AOS_LANG_CHECKER_H_
#define AOS_LANG_CHECKER_H_

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lang/ast.h"
#include "lang/builtins.h"
#include "lang/dag.h"
#include "lang/diagnostic.h"
#include "lang/source.h"
#include "lang/error_kinds.h"
#include "lang/value.h"

namespace aos {

struct CheckOptions {
  // The model names of the config file; when set, agents and llm.chat calls
  // naming another model are an error (E131).
  std::optional<std::set<std::string>> known_models;
};

struct Program {
  std::vector<std::unique_ptr<SourceFile>> sources;  // the main file first
  std::vector<std::unique_ptr<Module>> modules;      // of the files that parsed
  std::map<std::string, const TypeDecl*> types;      // types and entities
  std::map<std::string, const ConnectorDecl*> connectors;
  std::map<std::string, const AgentDecl*> agents;
  std::vector<std::unique_ptr<Dag>> workflows;  // of the main file, in order
  std::vector<const TriggerDecl*> triggers;     // of the main file, in order
  std::map<std::string, const TransformDecl*> transforms;  // of every file
  std::vector<const MigrationDecl*> migrations;            // of every file
  // Where `call` goes: as the checker resolved it (Call::target; resolved
  // now if it was not).
  CallTarget Target(const Call& call) const;

  // The workflow called `name`; the only one when `name` is empty. Null with
  // *error set when there is none, or several and no name.
  const Dag* FindWorkflow(const std::string& name, std::string* error) const;
};

// Parses and checks `text` (the contents of `path`) and what it imports.
// Always returns the program (its sources back the diagnostics' pointers);
// it has no workflows when the file did not parse, and its DAGs are
// trustworthy only when `diags` has no errors.
std::unique_ptr<Program> LoadProgram(const std::string& path, std::string text,
                                     const CheckOptions& options, Diagnostics& diags);

// Checks an expression outside any workflow (a trigger's), which knows only
// the names `bound` gives (name and declared type): unknown functions,
// arity, argument and operator types, members of known types — the codes
// workflows get. When `want` is given, the expression is passed where that
// type is declared: a mismatch is returned as "is T, but ... is U" text for
// the caller to report ("" when it fits or is not known statically).
std::string CheckBoundExpr(Program& program, const SourceFile* src, const Expr& e,
                           const std::vector<std::pair<std::string, const TypeRef*>>& bound, const TypeRef* want,
                           Diagnostics& diags);

// A command-line value typed as the user most likely meant it: JSON if it
// parses as JSON (42, 1.5, true, [..], {..}, "..."), otherwise a string.
Value InputValue(const std::string& text);

// The error kinds: lang/error_kinds.h.

}  // namespace aos

#endif  // AOS_LANG_CHECKER_H_
