// The aosrun CLI's side of `aosrun serve`: while serve holds the data
// directory, the writing commands ask it through its API (same output, same
// exit codes); and the commands that start serve and make it reload.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "lang/source.h"
#include "lang/trigger_check.h"
#include "runtime/runner.h"
#include "runtime/entity_schemas.h"
#include "tools/aosrun_cli.h"
#include "tools/aosrun_remote.h"

namespace aosrun {

// While `aosrun serve` holds the data directory, a writing command asks it
// through the API: same output, same exit codes.
// nullopt: no serve holds the directory.
std::optional<ServeAnswer> AskServe(Context& c, const std::string& method, const std::string& path,
                                    const std::string& body) {
  auto remote = aosrun::FindServe(c.data_dir, c.config);
  if (!remote) return std::nullopt;
  ServeAnswer a;
  std::string answer, error;
  const int status = aosrun::Call(*remote, method, path, body, &answer, &error);
  a.status = status;
  if (status == 0) {
    std::cerr << "aosrun: serve holds " << c.data_dir << " but does not answer at " << remote->address << ": " << error
              << "\n";
    a.rc = kExitBusy;
    return a;
  }
  std::string message, kind;
  if (!aosrun::ParseOutcome(answer, &a.run_id, &a.o, &message, &kind)) {
    std::cerr << "aosrun: " << (message.empty() ? "serve answered " + std::to_string(status) : message) << "\n";
    // An unknown run is not_found; an unknown approval or statement of a
    // known run is a refusal, as it is without serve; an upgrade blocked by
    // changed steps is 65, as without serve.
    a.rc = status == 404 && kind == "not_found" ? kExitNoRun
           : kind == "upgrade_blocked"         ? kExitInvalid
           : status >= 500                     ? kExitIo
                                               : kExitUsage;
    return a;
  }
  a.outcome = true;
  return a;
}

// AskServe, reporting the outcome as the command would. -1: no serve runs.
int ViaServe(Context& c, const std::string& method, const std::string& path, const std::string& body) {
  const auto a = AskServe(c, method, path, body);
  if (!a) return -1;
  return a->outcome ? Report(c, a->run_id, a->o) : a->rc;
}

// --batch while serve holds the data directory: each line is started
// through the API under the same deterministic id (an existing run is
// continued or reported), and printed as the batch prints it. -1: no serve.
int BatchViaServe(Context& c, const aos::Dag& dag, const std::vector<Value>& inputs,
                  const std::vector<std::string>& ids) {
  int worst = kExitOk;
  size_t completed = 0, failed = 0, waiting = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string body = "{\"workflow\":" + Q(dag.workflow->name) + ",\"input\":" + inputs[i].ToJson() +
                             ",\"run_id\":" + Q(ids[i]) + "}";
    const auto a = AskServe(c, "POST", "/api/runs", body);
    if (!a) return i == 0 ? -1 : kExitBusy;  // serve went away mid-batch: run the batch again
    if (!a->outcome) {
      if (a->rc == kExitBusy) return kExitBusy;
      worst = std::max(worst, a->rc);
      continue;
    }
    // Serve answers once the run has reached its end or a wait, durably.
    WriteLine(c.opt.json ? OutcomeJson(a->run_id, a->o) : a->run_id + " " + aos::RunStatusName(a->o.status));
    completed += a->o.status == aos::RunStatus::kCompleted;
    failed += a->o.status == aos::RunStatus::kFailed;
    waiting += a->o.status == aos::RunStatus::kWaiting;
    worst = std::max(worst, ExitFor(a->o.status));
  }
  std::cerr << "batch: " << inputs.size() << " runs through serve: " << completed << " completed, " << failed
            << " failed, " << waiting << " waiting\n";
  return worst;
}

// What `serve` serves: the FILEs and DIRs given (a DIR's *.aos files, in
// name order), or the config's workflows: list. false with *error.
bool ServedPaths(const Context& c, std::vector<std::string>* out, std::string* error) {
  const std::vector<std::string>& given = c.opt.positional.empty() ? c.config.workflows : c.opt.positional;
  if (given.empty()) {
    *error = "serve takes the workflow FILEs or DIRs to serve (or the config's workflows: list)";
    return false;
  }
  for (const auto& p : given) {
    std::error_code ec;
    if (!std::filesystem::is_directory(p, ec)) {
      out->push_back(p);
      continue;
    }
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
      if (e.path().extension() == ".aos" && e.is_regular_file(ec)) files.push_back(e.path().string());
    }
    if (files.empty()) {
      *error = "no .aos files in " + p;
      return false;
    }
    std::sort(files.begin(), files.end());
    out->insert(out->end(), files.begin(), files.end());
  }
  return true;
}

// The workflow files of `serve`, checked; diagnostics go to `report`.
int LoadServed(Context& c, std::vector<std::pair<std::shared_ptr<aos::Program>, std::string>>* out,
               std::ostream& report) {
  std::vector<std::string> paths;
  std::string error;
  if (!ServedPaths(c, &paths, &error)) {
    report << "aosrun: " << error << "\n";
    return kExitUsage;
  }
  for (const auto& path : paths) {
    std::string text;
    if (!aos::ReadFileText(path, &text)) {
      report << "aosrun: cannot read " << path << ": " << std::strerror(errno) << "\n";
      return kExitIo;
    }
    // Every workflow of the file is served.
    aos::Diagnostics diags;
    std::shared_ptr<aos::Program> program = aos::LoadProgram(path, text, aos::CheckOptionsFor(&c.config), diags);
    if (diags.has_errors()) {
      diags.Sort();
      for (const auto& d : diags.all()) {
        if (d.severity == aos::Severity::kError) report << aos::RenderText(d);
      }
      return kExitInvalid;
    }
    for (const auto& dag : program->workflows) {
      if (std::string missing = aos::MissingEnv(*program, *dag); !missing.empty()) {
        report << "aosrun: " << missing << "\n";
        return kExitUsage;
      }
    }
    out->emplace_back(program, text);
  }
  std::vector<const aos::Program*> programs;
  for (const auto& [program, text] : *out) programs.push_back(program.get());
  aos::Diagnostics diags;
  aos::CheckServedTogether(programs, diags);
  for (const auto& d : diags.all()) report << aos::RenderText(d);
  return diags.has_errors() ? kExitInvalid : kExitOk;
}

sigset_t ServeSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  return sigs;
}

// `aosrun reload`: serve reads its files again (as SIGHUP does) and says
// whether they checked.
int CmdReload(Context& c) {
  if (!c.opt.positional.empty()) return Usage("reload takes no arguments (serve reads the files it was given)");
  if (int rc = LoadSettings(c)) return rc;
  auto remote = aosrun::FindServe(c.data_dir, c.config);
  if (!remote) {
    std::cerr << "aosrun: no serve holds " << c.data_dir << " (start it with aosrun serve)\n";
    return kExitUsage;
  }
  std::string answer, error;
  const int status = aosrun::Call(*remote, "POST", "/api/reload", "{}", &answer, &error);
  if (status == 0) {
    std::cerr << "aosrun: serve holds " << c.data_dir << " but does not answer at " << remote->address << ": " << error
              << "\n";
    return kExitBusy;
  }
  auto v = aos::ParseJson(answer, &error);
  const Value* files = v ? v->Find("files") : nullptr;
  if (status == 200 && files) {
    if (c.opt.json) {
      std::cout << answer << "\n";
    } else {
      std::cerr << "serve reloaded " << files->ToDisplayString() << " files\n";
    }
    return kExitOk;
  }
  const Value* e = v ? v->Find("error") : nullptr;
  std::cerr << (e && e->Find("message") ? e->Find("message")->ToDisplayString() : answer);
  std::cerr << "aosrun: reload refused; serve goes on with the files it had\n";
  return e && e->Find("kind") && e->Find("kind")->ToDisplayString() == "invalid" ? kExitInvalid : kExitUsage;
}

}  // namespace aosrun
