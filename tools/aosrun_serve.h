// `aosrun serve`: the long-running process that runs the workforce — the
// runtime's Driver (runs, due times) behind a JSON API over HTTP
// (cpp-httplib), with the serve token. This file is the HTTP side only:
// every action is a runtime operation executed on the driver's thread.
#ifndef AOS_TOOLS_AOSRUN_SERVE_H_
#define AOS_TOOLS_AOSRUN_SERVE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "runtime/calls.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/runner.h"
#include "runtime/store.h"

namespace aosrun {

struct ServeSetup {
  aos::Store* store = nullptr;
  aos::Clock* clock = nullptr;
  aos::CallHandler* calls = nullptr;
  const aos::Config* config = nullptr;
  aos::RunOptions run;
  std::string data_dir;
  std::string listen = "127.0.0.1:7070";  // HOST:PORT; port 0 picks a free one
  // The checked programs to serve: their workflows can be started.
  std::vector<std::pair<std::shared_ptr<aos::Program>, std::string>> programs;  // program, its text
  // SIGHUP and POST /api/reload (`aosrun reload`): loads the files again;
  // false (and the old ones stay) when one does not check, with the
  // diagnostics in *report. New runs use what it loaded; runs keep their text.
  std::function<bool(std::vector<std::pair<std::shared_ptr<aos::Program>, std::string>>*, std::string* report)>
      reload;
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and the threads
// it starts later: call before any thread starts.
void BlockServeSignals();

// Serves until SIGTERM or SIGINT; returns the exit status (0 after a clean
// stop, 64 for a bad --listen, 74 when it cannot bind or write its files).
int Serve(ServeSetup& setup);

}  // namespace aosrun

#endif  // AOS_TOOLS_AOSRUN_SERVE_H_
