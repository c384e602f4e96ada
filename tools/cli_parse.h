// The tools' shared way of running CLI11 over a command's arguments (header
// only: both tools include CLI11 already). Positionals are taken as written
// (CLI11 would split "[1, 2]" into items), `--` ends the options, and an
// unknown option is named so the caller can say "did you mean".
#ifndef AOS_TOOLS_CLI_PARSE_H_
#define AOS_TOOLS_CLI_PARSE_H_

#include <CLI/CLI.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "lang/spelling.h"

namespace aos_cli {

// Moves what follows the first `--` (which is dropped) into *after.
inline void SplitPositionals(std::vector<std::string>* args, std::vector<std::string>* after) {
  auto dd = std::find(args->begin(), args->end(), "--");
  if (dd == args->end()) return;
  after->assign(dd + 1, args->end());
  args->erase(dd, args->end());
}

// Parses `args` (in order) with `app`, which must allow extras: what it does
// not take are the positionals, unless one looks like an option, which is
// then *bad (and false is returned). Other parse errors go to *problem.
inline bool ParseWith(CLI::App& app, std::vector<std::string> args, std::vector<std::string>* positional,
                      std::string* bad, std::string* problem) {
  app.allow_extras(true);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    *problem = e.what();
    return false;
  }
  for (const auto& x : app.remaining()) {
    if (x.size() > 1 && x[0] == '-') {
      *bad = x;
      *problem = "unknown option " + x;
      return false;
    }
    positional->push_back(x);
  }
  return true;
}

// "; did you mean --NAME?" among the app's long options, or "".
inline std::string DidYouMean(const CLI::App& app, const std::string& word) {
  std::vector<std::string> names;
  for (const CLI::Option* op : app.get_options()) {
    for (const auto& n : op->get_lnames()) names.push_back("--" + n);
  }
  if (auto m = aos::ClosestMatch(word.substr(0, word.find('=')), names)) return "; did you mean " + *m + "?";
  return "";
}

}  // namespace aos_cli

#endif  // AOS_TOOLS_CLI_PARSE_H_
