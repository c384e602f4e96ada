// SourceFile: one .aos file's text and the table that maps byte offsets to
// 1-based line and column numbers (columns count bytes, as most editors and
// compilers report them for ASCII source).
#ifndef AOS_LANG_SOURCE_H_
#define AOS_LANG_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aos {

struct LineCol {
  uint32_t line = 1;
  uint32_t column = 1;
};

class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  LineCol Position(uint32_t offset) const;
  // The text of line `line` (1-based), without its newline.
  std::string_view Line(uint32_t line) const;
  std::string_view Slice(uint32_t begin, uint32_t end) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> line_starts_;  // offset of each line's first byte
};

// The whole of file `path` into *out (bytes as they are); false when it
// cannot be opened or read. One reader for the tools and the checker's
// imports.
bool ReadFileText(const std::string& path, std::string* out);

}  // namespace aos

#endif  // AOS_LANG_SOURCE_H_
