// libFuzzer target for the front end: any input must parse (or fail to
// parse) and check without crashing, hanging or leaking. Built only with
// -DAOS_FUZZ=ON and clang (see fuzz/README.md); tests/fuzz_smoke_test.cc
// runs the same entry point over the seed corpus and mutations of it in the
// ordinary test suite.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lang/checker.h"
#include "lang/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  aos::Diagnostics diags;
  auto program = aos::LoadProgram("fuzz.aos", text, {}, diags);
  for (const auto& d : diags.all()) (void)aos::RenderText(d);
  std::string error;
  (void)aos::ParseExpression(text, &error);
  return 0;
}
