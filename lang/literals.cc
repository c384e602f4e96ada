#include "lang/literals.h"

#include <charconv>

namespace aos {

bool ParseUnsignedLiteral(std::string_view t, uint64_t* out) {
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    t.remove_prefix(2);
    base = 16;
  }
  auto r = std::from_chars(t.data(), t.data() + t.size(), *out, base);
  return r.ec == std::errc() && r.ptr == t.data() + t.size();
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void AppendEscaped(std::string& out, std::string_view esc) {
  // esc starts with the backslash.
  const char c = esc.size() > 1 ? esc[1] : '\\';
  if (esc.size() == 4 && c >= '0' && c <= '3') {  // octal \ooo: a code point
    uint32_t cp = 0;
    std::from_chars(esc.data() + 1, esc.data() + 4, cp, 8);
    AppendUtf8(out, cp);
    return;
  }
  switch (c) {
    case 'n': out += '\n'; break;
    case 'r': out += '\r'; break;
    case 't': out += '\t'; break;
    case '0': out += '\0'; break;
    case 'a': out += '\a'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'v': out += '\v'; break;
    case 'u':
    case 'U':
    case 'x':
    case 'X': {
      // In a string, \xHH (like \u and \U) names a code point (CEL).
      uint32_t cp = 0;
      std::from_chars(esc.data() + 2, esc.data() + esc.size(), cp, 16);
      AppendUtf8(out, cp);
      break;
    }
    default: out += c; break;
  }
}

}  // namespace aos
