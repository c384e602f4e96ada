#include "lang/check_common.h"

#include "lang/spelling.h"

namespace aos::checking {

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

void AddDidYouMean(Diagnostic& d, std::string_view word, const std::vector<std::string>& candidates) {
  if (auto m = ClosestMatch(word, candidates)) d.hints.push_back("did you mean " + Quote(*m) + "?");
}

std::string Where(const SourceFile* src, Span s) {
  const LineCol p = src->Position(s.begin);
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

const std::vector<std::string>& ScalarTypeNames() {
  static const std::vector<std::string> names = {"string", "int",      "uint",  "double", "bool", "bytes", "time",
                                                 "timestamp", "duration", "money", "any",    "list", "map"};
  return names;
}

void NoSuchField(const TypeDecl& t, std::string_view field, const SourceFile* src, Span at, Diagnostics& diags) {
  auto& d = diags.Error(src, at, "E107", "entity " + Quote(t.name) + " has no field " + Quote(field));
  std::vector<std::string> names;
  for (const auto& f : t.fields) names.push_back(f.name);
  AddDidYouMean(d, field, names);
}

void CheckModelName(const Expr& e, const CheckOptions& opts, const SourceFile* src, Diagnostics& diags) {
  if (!opts.known_models || e.kind != ExprKind::kLiteral || e.literal().kind() != ValueKind::kString) return;
  const std::string& m = e.literal().as_string();
  if (opts.known_models->count(m)) return;
  auto& d = diags.Error(src, e.span, "E131", "unknown model " + Quote(m));
  std::vector<std::string> names(opts.known_models->begin(), opts.known_models->end());
  AddDidYouMean(d, m, names);
  if (d.hints.empty()) {
    std::string list;
    for (size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
    d.hints.push_back(names.empty() ? "the config names no models" : "the config's models are " + list);
  }
}

}  // namespace aos::checking
