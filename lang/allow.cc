#include "lang/allow.h"

#include <cctype>

namespace aos {

bool GlobMatch(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (GlobMatch(pat.substr(1), s.substr(i))) return true;
      if (i < s.size() && s[i] == '/') break;
    }
    return false;
  }
  return !s.empty() && pat[0] == s[0] && GlobMatch(pat.substr(1), s.substr(1));
}

bool AllowRuleMatches(std::string_view rule, std::string_view method, std::string_view path) {
  const size_t sp = rule.find(' ');
  if (sp == std::string_view::npos) return false;
  const std::string_view want = rule.substr(0, sp);
  if (want.size() != method.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(want[i])) != std::toupper(static_cast<unsigned char>(method[i]))) {
      return false;
    }
  }
  return GlobMatch(rule.substr(sp + 1), path.substr(0, path.find('?')));
}

}  // namespace aos
