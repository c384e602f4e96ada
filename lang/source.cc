#include "lang/source.h"

#include <fstream>
#include <sstream>

#include <algorithm>
#include <cstring>

namespace aos {

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  const char* const begin = text_.data();
  const char* const end = begin + text_.size();
  for (const char* p = begin; (p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr; ++p) {
    line_starts_.push_back(static_cast<uint32_t>(p - begin + 1));
  }
}

LineCol SourceFile::Position(uint32_t offset) const {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const uint32_t line = static_cast<uint32_t>(it - line_starts_.begin());
  return LineCol{line, offset - line_starts_[line - 1] + 1};
}

std::string_view SourceFile::Line(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  const uint32_t begin = line_starts_[line - 1];
  uint32_t end = line < line_starts_.size() ? line_starts_[line] - 1
                                            : static_cast<uint32_t>(text_.size());
  if (end > begin && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(begin, end - begin);
}

std::string_view SourceFile::Slice(uint32_t begin, uint32_t end) const {
  begin = std::min<uint32_t>(begin, static_cast<uint32_t>(text_.size()));
  end = std::clamp<uint32_t>(end, begin, static_cast<uint32_t>(text_.size()));
  return std::string_view(text_).substr(begin, end - begin);
}

bool ReadFileText(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  // Read in one piece into a string of the file's size: a stream copy
  // doubled the buffer (16 MB held for an 8 MB workflow) and copied it.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) {  // not seekable (a pipe): read it as a stream
    in.clear();
    in.seekg(0);
    std::ostringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return !in.bad();
  }
  in.seekg(0);
  out->resize(static_cast<size_t>(size));
  in.read(out->data(), size);
  out->resize(static_cast<size_t>(in.gcount()));
  return !in.bad();
}

}  // namespace aos
