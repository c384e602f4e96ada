#include "lang/syntax_error.h"

#include <algorithm>
#include <cctype>

namespace aos {

namespace g = grammar;

std::string ComposeSyntaxError(const g::SyntaxError& e, const SourceFile& src) {
  std::string msg = e.message;
  if (e.has_opener) {
    const LineCol at = src.Position(e.opener.offset);
    const std::string where = std::to_string(at.line) + ":" + std::to_string(at.column);
    if (e.opener.kind == g::open_kind::string) {
      msg += " (the string starts at " + where + ")";
    } else {
      // The construct's keyword and name: "workflow 'weekly_issue'".
      std::string_view rest = std::string_view(src.text()).substr(e.opener.offset);
      size_t k = 0;
      while (k < rest.size() && std::isalpha(static_cast<unsigned char>(rest[k]))) ++k;
      const std::string_view keyword = rest.substr(0, k);
      size_t b = k;
      while (b < rest.size() && std::isspace(static_cast<unsigned char>(rest[b]))) ++b;
      size_t n = b;
      while (n < rest.size() &&
             (std::isalnum(static_cast<unsigned char>(rest[n])) || rest[n] == '_')) {
        ++n;
      }
      msg += " (to close " + std::string(keyword);
      if (n > b) msg += " '" + std::string(rest.substr(b, n - b)) + "'";
      msg += " opened at " + where + ")";
    }
  }
  return msg;
}

void ReportSyntaxErrors(const g::ParseState& st, const SourceFile& src, Diagnostics& diags) {
  for (const auto& e : st.errors) {
    auto& d = diags.Error(&src, Span{e.offset, e.offset + 1}, e.code, ComposeSyntaxError(e, src));
    // A caret under the whole token that was found, when there is one.
    const std::string_view rest = std::string_view(src.text()).substr(
        std::min<size_t>(e.offset, src.text().size()));
    size_t k = 0;
    while (k < rest.size() &&
           (std::isalnum(static_cast<unsigned char>(rest[k])) || rest[k] == '_')) {
      ++k;
    }
    if (k > 1) d.span.end = e.offset + static_cast<uint32_t>(k);
    if (e.hint) d.hints.emplace_back(e.hint);
  }
}

}  // namespace aos
