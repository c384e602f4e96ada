// The checks of a program's declarations across its files: duplicate names
// (E150), types and entities (fields, key fields, known types), connector
// and agent settings (E101, E104, E105, E108, E109, E110), model names
// against the config, and secrets flowing into an agent's instructions
// (W201). The workflow checks are WorkflowChecker's (lang/checker.cc).
#ifndef AOS_LANG_DECL_CHECKER_H_
#define AOS_LANG_DECL_CHECKER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lang/checker.h"
#include "lang/diagnostic.h"

namespace aos {

class DeclChecker {
 public:
  DeclChecker(Program& prog, const CheckOptions& opts, Diagnostics& diags);

  void Register(const Module& m, const SourceFile* src);

  void CheckAll();

 private:
  // Resolves a field's type for the diagnostics only.
  void CheckTypeRef(const TypeRef& t, const SourceFile* src);

  void CheckType(const TypeDecl& t, const SourceFile* src);

  void CheckSettings(const std::vector<Setting>& settings, const SourceFile* src,
                     const std::vector<std::string>& known, const char* what);

  const Setting* Find(const std::vector<Setting>& settings, const char* key);

  void CheckConnector(const ConnectorDecl& c, const SourceFile* src);

  void CheckAgent(const AgentDecl& a, const SourceFile* src);

  Program& prog_;
  const CheckOptions& opts_;
  Diagnostics& d_;
  std::map<std::string, std::string> first_;
  std::vector<std::pair<const Module*, const SourceFile*>> sources_;
};

}  // namespace aos

#endif  // AOS_LANG_DECL_CHECKER_H_
