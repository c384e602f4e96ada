#include "lang/error_kinds.h"

#include <cctype>

namespace aos {

bool IsKnownErrorKind(std::string_view k) {
  for (const auto& e : kErrorKinds) {
    if (e.name == k) return true;
  }
  return k.size() == 8 && k.substr(0, 5) == "http." && std::isdigit(static_cast<unsigned char>(k[5])) &&
         std::isdigit(static_cast<unsigned char>(k[6])) && std::isdigit(static_cast<unsigned char>(k[7]));
}

bool ErrorKindMatches(std::string_view rule, std::string_view kind) {
  if (rule == kind) return true;
  if (rule == "http.4xx") return kind.substr(0, 6) == "http.4" && kind != "http.429";
  if (rule == "http.5xx") return kind.substr(0, 6) == "http.5";
  return false;
}

bool RetriedByDefault(std::string_view kind) {
  for (const auto& e : kErrorKinds) {
    if (e.retried_by_default && ErrorKindMatches(e.name, kind)) return true;
  }
  return false;
}

}  // namespace aos
