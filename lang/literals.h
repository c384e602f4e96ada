// Literal text to values, as the parser reads it: integer digits (decimal
// or 0x hex) and the escapes of a string literal (CEL's, and ours: \$, \0),
// each code point written as UTF-8. Pure functions over text; the parser
// (lang/parser.cc) calls them on the tokens the grammar found.
#ifndef AOS_LANG_LITERALS_H_
#define AOS_LANG_LITERALS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace aos {

// Decimal or 0x-hex digits, all of them; false when out of range.
bool ParseUnsignedLiteral(std::string_view text, uint64_t* out);
// Code point `cp` as UTF-8.
void AppendUtf8(std::string& out, uint32_t cp);
// One escape sequence `esc` ("\n", "\x41", "\101", "\U0001F600"; the
// grammar has checked it) decoded onto `out`.
void AppendEscaped(std::string& out, std::string_view esc);

}  // namespace aos

#endif  // AOS_LANG_LITERALS_H_
