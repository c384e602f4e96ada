#include "lang/regex.h"

#include <re2/re2.h>

namespace aos {

Regex::Regex(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}
Regex::~Regex() = default;

std::unique_ptr<Regex> Regex::Compile(std::string_view pattern, std::string* error) {
  if (pattern.size() > kMaxRegexPattern) {
    *error = "the pattern is longer than " + std::to_string(kMaxRegexPattern) + " characters";
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  // A bound on the compiled program: a short pattern such as a{1000}{1000}
  // would otherwise take megabytes.
  options.set_max_mem(1 << 20);
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    *error = re->error_code() == re2::RE2::ErrorPatternTooLarge ? "the pattern is too large"
                                                                 : "bad pattern: " + re->error();
    return nullptr;
  }
  return std::unique_ptr<Regex>(new Regex(std::move(re)));
}

bool Regex::Search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

}  // namespace aos
