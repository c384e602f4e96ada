// Regex: the regular expressions of matches() (CEL specifies RE2 syntax),
// on RE2: linear time in the text, so no pattern can hang a run. One place
// compiles patterns for the evaluator and for the checker's check of
// literal patterns, with the same bounds.
#ifndef AOS_LANG_REGEX_H_
#define AOS_LANG_REGEX_H_

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace aos {

// The longest pattern and text matches() accepts.
inline constexpr size_t kMaxRegexPattern = 512;
inline constexpr size_t kMaxRegexText = 65536;

class Regex {
 public:
  // Compiles `pattern`; null with *error ("missing ): ...", "longer than
  // 512 characters", "too large") when it is not a valid, bounded RE2 pattern.
  static std::unique_ptr<Regex> Compile(std::string_view pattern, std::string* error);
  ~Regex();

  // Whether the pattern matches anywhere in `text` (CEL's matches()).
  bool Search(std::string_view text) const;

 private:
  explicit Regex(std::unique_ptr<re2::RE2> re);
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace aos

#endif  // AOS_LANG_REGEX_H_
