// Diagnostics are data: severity, a stable code (docs/diagnostics.md), a
// message, the source span, hints and notes. Only the tools print them, with
// RenderText (file:line:col: error[CODE]: message, the source line, a caret
// under the span, then hints) or RenderJson.
#ifndef AOS_LANG_DIAGNOSTIC_H_
#define AOS_LANG_DIAGNOSTIC_H_

#include <string>
#include <vector>

#include "lang/ast.h"
#include "lang/source.h"

namespace aos {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;     // "E120"
  std::string message;  // lower case, no trailing period
  const SourceFile* source = nullptr;  // not owned; null for file-less errors
  Span span;
  std::vector<std::string> hints;  // "did you mean 'outline'?"
  std::vector<std::string> notes;  // "'a' depends on 'b' here (3:5)"
};

// Collects diagnostics; keeps them in the order they were found.
class Diagnostics {
 public:
  Diagnostic& Error(const SourceFile* src, Span span, std::string code,
                    std::string message);
  Diagnostic& Warning(const SourceFile* src, Span span, std::string code,
                      std::string message);
  const std::vector<Diagnostic>& all() const { return list_; }
  std::vector<Diagnostic>& all() { return list_; }
  size_t error_count() const;
  size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  // Sorts by file, then position, keeping the found order for ties.
  void Sort();

 private:
  std::vector<Diagnostic> list_;
};

std::string RenderText(const Diagnostic& d);
// [{"severity","code","message","file","range":{"start":{"line","column",
// "offset"},"end":{...}},"hints":[...],"notes":[...]}, ...]
std::string RenderJson(const std::vector<Diagnostic>& list);

}  // namespace aos

#endif  // AOS_LANG_DIAGNOSTIC_H_
