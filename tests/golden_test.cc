// Golden tests: every .aos file under tests/golden/ states the diagnostics it
// must produce, in comments beside the lines they are about; every file under
// examples/ and tests/golden/valid/ must check without errors. Adding a case
// is adding a file. Each directory under tests/golden_served/ is one case of
// files served together (`aosrun serve A.aos B.aos`), expectations likewise.
//
//   let x = 1 + 2.0        // expect: E110           (this line, any column)
//   effect e = f() { }     // expect: E120 :8        (this line, column 8)
//   // expect: E003 12:1                              (line 12, column 1)
//   // expect: E100 ~ did you mean 'outline'?         (text in the message or a hint)
//   // models: small, large                           (check model names against these)
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "lang/checker.h"
#include "lang/trigger_check.h"
#include "runtime/entity_schemas.h"
#include "runtime/store.h"

namespace {

namespace fs = std::filesystem;

struct Expectation {
  std::string code;
  uint32_t line = 0;
  uint32_t column = 0;  // 0: any
  std::string text;     // "" : any
  bool matched = false;
};

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Expectation> ParseExpectations(const std::string& text,
                                           std::optional<std::set<std::string>>* models) {
  static const std::regex expect(
      R"(//\s*expect:\s*([EW]\d{3})(?:\s+(\d+)?:(\d+))?(?:\s*~\s*(.*\S))?\s*$)");
  static const std::regex model_line(R"(//\s*models:\s*(.*\S)\s*$)");
  std::vector<Expectation> out;
  std::istringstream in(text);
  std::string line;
  uint32_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (std::regex_search(line, m, expect)) {
      Expectation e;
      e.code = m[1];
      e.line = m[2].matched ? static_cast<uint32_t>(std::stoul(m[2])) : n;
      e.column = m[3].matched ? static_cast<uint32_t>(std::stoul(m[3])) : 0;
      e.text = m[4].matched ? std::string(m[4]) : "";
      out.push_back(e);
    } else if (std::regex_search(line, m, model_line)) {
      models->emplace();
      std::stringstream names{std::string(m[1])};
      std::string name;
      while (std::getline(names, name, ',')) {
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        (*models)->insert(name);
      }
    }
  }
  return out;
}

std::vector<fs::path> AosFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".aos") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Checks files served together (one file, or a directory of files loaded as
// `aosrun serve` loads them, in name order); returns "" when they produced
// exactly what their comments expect.
// With `stored`: the files but the last ran in one data directory first
// (their schemas and transform bodies kept), and the last is checked against
// it, as a run start and `aoscheck --against DATA` check it.
std::string CheckGolden(const std::vector<fs::path>& paths, bool stored = false) {
  aos::CheckOptions options;
  std::map<std::string, std::vector<Expectation>> want;  // by file
  std::vector<std::string> texts;
  for (const auto& path : paths) {
    texts.push_back(Read(path));
    std::optional<std::set<std::string>> models;
    want[path.string()] = ParseExpectations(texts.back(), &models);
    if (models) options.known_models = models;
  }
  aos::Diagnostics diags;
  std::vector<std::shared_ptr<aos::Program>> programs;
  for (size_t i = 0; i < paths.size(); ++i) {
    programs.push_back(aos::LoadProgram(paths[i].string(), texts[i], options, diags));
  }
  if (stored && !diags.has_errors()) {
    aos::MemoryStore store;
    for (size_t i = 0; i + 1 < programs.size(); ++i) {
      aos::WriteBatch b;
      aos::RecordSchemas(store, b, *programs[i]);
      store.Write(b, true);
    }
    aos::TransformConflicts(store, *programs.back(), diags);
  } else if (paths.size() > 1 && !diags.has_errors()) {
    std::vector<const aos::Program*> served;
    for (const auto& p : programs) served.push_back(p.get());
    aos::CheckServedTogether(served, diags);
  }
  std::string problems;
  for (const auto& d : diags.all()) {
    const std::string rendered = aos::RenderText(d);
    const aos::LineCol at = d.source ? d.source->Position(d.span.begin) : aos::LineCol{0, 0};
    bool found = false;
    for (auto& e : want[d.source ? d.source->path() : ""]) {
      if (e.matched || e.code != d.code || e.line != at.line) continue;
      if (e.column && e.column != at.column) continue;
      if (!e.text.empty() && rendered.find(e.text) == std::string::npos) continue;
      e.matched = found = true;
      break;
    }
    if (!found) problems += "unexpected diagnostic:\n" + rendered;
  }
  for (const auto& [file, expectations] : want) {
    for (const auto& e : expectations) {
      if (e.matched) continue;
      problems += "missing " + e.code + " at " + file + ":" + std::to_string(e.line) + ":" +
                  (e.column ? std::to_string(e.column) : std::string("*")) +
                  (e.text.empty() ? "" : " with '" + e.text + "'") + "\n";
    }
  }
  if (!problems.empty()) {
    problems += "all diagnostics:\n";
    for (const auto& d : diags.all()) problems += aos::RenderText(d);
  }
  return problems;
}

// The cases of files served together: each directory under tests/golden_served/
// (or, with `dir` golden_stored, of files run one after another, name order).
std::vector<std::vector<fs::path>> ServedCases(const char* dir = "golden_served") {
  std::vector<std::vector<fs::path>> cases;
  const fs::path root = fs::path(AOS_SOURCE_DIR) / "tests" / dir;
  if (!fs::exists(root)) return cases;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) cases.push_back(AosFiles(d));
  return cases;
}

TEST_CASE("every golden file produces exactly the diagnostics it expects") {
  const auto files = AosFiles(fs::path(AOS_SOURCE_DIR) / "tests" / "golden");
  REQUIRE(files.size() >= 60);
  for (const auto& f : files) {
    DYNAMIC_SECTION(f.filename().string()) {
      INFO(f.string());
      CHECK(CheckGolden({f}) == "");
    }
  }
}

TEST_CASE("files served together produce exactly the diagnostics they expect") {
  const auto cases = ServedCases();
  REQUIRE(cases.size() >= 2);
  for (const auto& files : cases) {
    DYNAMIC_SECTION(files.front().parent_path().filename().string()) {
      REQUIRE(files.size() >= 2);
      CHECK(CheckGolden(files) == "");
    }
  }
}

TEST_CASE("a file checked against a data directory produces exactly the diagnostics it expects") {
  const auto cases = ServedCases("golden_stored");
  REQUIRE(cases.size() >= 1);
  for (const auto& files : cases) {
    DYNAMIC_SECTION(files.front().parent_path().filename().string()) {
      REQUIRE(files.size() >= 2);
      CHECK(CheckGolden(files, true) == "");
    }
  }
}

TEST_CASE("every example checks without errors") {
  const auto files = AosFiles(fs::path(AOS_SOURCE_DIR) / "examples");
  REQUIRE(files.size() >= 6);
  for (const auto& f : files) {
    DYNAMIC_SECTION(f.filename().string()) {
      const std::string text = Read(f);
      aos::Diagnostics diags;
      auto program = aos::LoadProgram(f.string(), text, {}, diags);
      std::string out;
      for (const auto& d : diags.all()) out += aos::RenderText(d);
      INFO(out);
      CHECK(program != nullptr);
      CHECK(diags.error_count() == 0);
      CHECK(diags.warning_count() == 0);
    }
  }
}

TEST_CASE("the golden corpus covers every diagnostic code") {
  // Codes documented in docs/diagnostics.md; each needs at least one golden case.
  const std::string docs = Read(fs::path(AOS_SOURCE_DIR) / "docs" / "diagnostics.md");
  REQUIRE(!docs.empty());
  std::set<std::string> documented;
  static const std::regex code(R"(^## ([EW]\d{3}))");
  std::istringstream in(docs);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, code)) documented.insert(m[1]);
  }
  REQUIRE(documented.size() >= 20);
  std::set<std::string> covered;
  std::vector<fs::path> files = AosFiles(fs::path(AOS_SOURCE_DIR) / "tests" / "golden");
  for (const auto& c : ServedCases()) files.insert(files.end(), c.begin(), c.end());
  for (const auto& c : ServedCases("golden_stored")) files.insert(files.end(), c.begin(), c.end());
  for (const auto& f : files) {
    std::optional<std::set<std::string>> models;
    for (const auto& e : ParseExpectations(Read(f), &models)) covered.insert(e.code);
  }
  for (const auto& c : documented) {
    INFO(c);
    CHECK(covered.count(c) == 1);
  }
}

}  // namespace
