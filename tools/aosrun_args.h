// aosrun's command line: what the user asked for (Options) and its parsing.
// tools/aosrun.cc turns it into runtime calls; nothing here touches a run.
#ifndef AOS_TOOLS_AOSRUN_ARGS_H_
#define AOS_TOOLS_AOSRUN_ARGS_H_

#include <string>
#include <utility>
#include <vector>

namespace aosrun {

struct Options {
  std::string command = "start";
  std::vector<std::string> positional;
  std::vector<std::string> raw_inputs;  // --input NAME=VALUE, as given
  std::vector<std::pair<std::string, std::string>> inputs;
  std::string input_json, run_id, data, config, workflow, batch, comment, payload, as;
  std::string upgrade;
  std::string store;        // --store postgresql://... (docs/cluster.md)
  std::string copy_from, copy_to;  // copy --from WHERE --to WHERE
  std::string otlp;         // trace --otlp FILE
  std::string expect_hash;  // approve/reject --expect-hash H
  std::string from;         // retry --from STEP
  std::string at;           // state --at TIME
  std::string since, by;    // cost --since DATE --by workflow|model|day|run
  std::string listen = "127.0.0.1:7070";  // serve --listen HOST:PORT
  std::string durability;   // --durability default|strict
  bool json = false, help = false, replay_effects = false, strict = false, no_continue = false;
  bool force = false;
  bool verbose = false;  // -v: the process log on stderr too, at debug
};

// false with *problem (a usage error, with "did you mean" where one fits).
bool ParseArgs(int argc, char** argv, Options* o, std::string* problem);

const char* UsageText();
// A command's --help text ("start" for `aosrun FILE`).
std::string HelpText(const std::string& command);

// The JSON text an option names: itself, @FILE's contents, or stdin for -.
bool ReadJsonArg(const std::string& flag, const std::string& arg, std::string* text, std::string* error);

}  // namespace aosrun

#endif  // AOS_TOOLS_AOSRUN_ARGS_H_
