// `aosrun serve` itself, in the aosrun-serve executable (see serve_exec.cc):
// checks the files it serves, opens the store, runs their migrations, then
// hands over to the HTTP side (aosrun_serve.cc).
#include <iostream>
#include <sstream>

#include "runtime/entity_schemas.h"
#include "tools/aosrun_cli.h"
#include "tools/aosrun_serve.h"

namespace aosrun {

int CmdServe(Context& c) {
  // Before any thread starts (RocksDB's, the HTTP engine's): every thread
  // must block these, so that serve's signal thread alone takes them.
  aosrun::BlockServeSignals();
  if (int rc = LoadSettings(c)) return rc;
  aosrun::ServeSetup s;
  if (int rc = LoadServed(c, &s.programs, std::cerr)) return rc;
  s.reload = [&c](std::vector<std::pair<std::shared_ptr<aos::Program>, std::string>>* fresh, std::string* report) {
    std::ostringstream out;
    const bool ok = LoadServed(c, fresh, out) == kExitOk;
    *report = out.str();
    return ok;
  };
  if (int rc = OpenStore(c, true)) return rc;
  // What the files need of the data directory, before any run continues:
  // their migrations, then the schemas and transform bodies they declare.
  for (const auto& [program, text] : s.programs) {
    if (int rc = RunMigrations(c, *program, std::cerr)) return rc;
    if (std::string conflicts = aos::StoredConflicts(*c.store, *program); !conflicts.empty()) {
      std::cerr << "aosrun: " << conflicts << "\n";
      return kExitInvalid;
    }
  }
  s.store = c.store.get();
  s.clock = c.clock.get();
  s.calls = c.calls.get();
  s.config = &c.config;
  s.run = MakeRunOptions(c, nullptr);
  s.data_dir = c.data_dir;
  s.listen = c.opt.listen;
  return aosrun::Serve(s);
}

}  // namespace aosrun
