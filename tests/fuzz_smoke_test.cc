// A bounded, deterministic fuzz run inside the ordinary test suite: the
// libFuzzer entry point (fuzz/parser_fuzz.cc) over the seed corpus (the
// examples, the golden files and fuzz/corpus/) and over seeded random
// mutations of each seed. Nothing may crash or hang; sanitizer builds and
// the real libFuzzer build (-DAOS_FUZZ=ON) go further.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "lang/checker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  for (const char* dir : {"examples", "tests/golden", "fuzz/corpus"}) {
    const fs::path root = fs::path(AOS_SOURCE_DIR) / dir;
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      seeds.push_back(ss.str());
    }
  }
  return seeds;
}

std::string Mutate(const std::string& s, std::mt19937& rng) {
  static const char* tokens[] = {"{", "}", "(", ")", "[", "]", "\"", "'", "${", "//", "/*",
                                 "step ", "effect ", "for x in ", "when ", "after ", "=",
                                 ",", ".", ":", "?", "1e", "0x", "usd", "ms", "\\", "\n",
                                 "workflow w() {", "key ", "retry 3 backoff ", "let a = "};
  std::string out = s;
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits; ++i) {
    const size_t pos = out.empty() ? 0 : rng() % (out.size() + 1);
    switch (rng() % 4) {
      case 0:  // delete a run
        if (!out.empty()) out.erase(pos, std::min<size_t>(1 + rng() % 16, out.size() - std::min(pos, out.size())));
        break;
      case 1:  // insert a token
        out.insert(pos, tokens[rng() % (sizeof tokens / sizeof *tokens)]);
        break;
      case 2:  // flip a byte
        if (pos < out.size()) out[pos] = static_cast<char>(rng());
        break;
      default: {  // duplicate a run
        const size_t len = std::min<size_t>(1 + rng() % 32, out.size() - std::min(pos, out.size()));
        out.insert(pos, out.substr(pos, len));
      }
    }
  }
  return out;
}

TEST_CASE("no seed or mutation of a seed crashes the front end") {
  const auto seeds = Seeds();
  REQUIRE(seeds.size() >= 10);
  std::mt19937 rng(20261124);
  size_t runs = 0;
  for (const auto& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    ++runs;
    for (int i = 0; i < 40; ++i) {
      const std::string m = Mutate(s, rng);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(m.data()), m.size());
      ++runs;
    }
  }
  CHECK(runs == seeds.size() * 41);
}

TEST_CASE("pathological inputs end with an error, not a crash or a hang") {
  const std::vector<std::string> inputs = {
      std::string(200000, '('),
      std::string(200000, '['),
      std::string(200000, '{'),
      "workflow w() { output " + std::string(100000, '!') + "true }",
      "workflow w() { output " + std::string(50000, '-') + "1 }",
      "workflow w() {" + std::string(5000, '\n') + "let a = \"",
      std::string("\0\0\0", 3),
      "workflow w() { output 1" + [] {
        std::string s;
        for (int i = 0; i < 100000; ++i) s += " + 1";
        return s;
      }() + " }",
      "workflow w() { for a in [1] { for b in [1] { for c in [1] { for d in [1] {" +
          std::string(100, '{'),
  };
  for (const auto& s : inputs) {
    INFO("input of " << s.size() << " bytes starting " << s.substr(0, 40));
    aos::Diagnostics diags;
    auto program = aos::LoadProgram("pathological.aos", s, {}, diags);
    CHECK(diags.has_errors());
    CHECK(program->workflows.empty());
  }
}

}  // namespace
