// A connector's `allow` rules ("GET /v1/items/*"): which calls it may make.
// One matcher for the checker (a literal path refused statically is E130)
// and the runtime (connector.denied), so that what aoscheck refuses is
// exactly what would be refused at run time: the method compared without
// regard to case, the path as a glob whose `*` stays within one segment
// (it never crosses '/'); a query string is not part of the path.
#ifndef AOS_LANG_ALLOW_H_
#define AOS_LANG_ALLOW_H_

#include <string_view>

namespace aos {

// Whether `rule` ("METHOD /path/glob") allows `method` on `path`. A rule
// without a space allows nothing.
bool AllowRuleMatches(std::string_view rule, std::string_view method, std::string_view path);

// Glob match where '*' matches any run of characters but '/'.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace aos

#endif  // AOS_LANG_ALLOW_H_
