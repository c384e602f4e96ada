#include "runtime/operations.h"

#include <algorithm>

#include "lang/spelling.h"

namespace aos {

std::vector<std::string> SignalEvents(const Dag& dag) {
  std::vector<std::string> out;
  for (const DagNode& n : dag.nodes) {
    if (n.stmt && n.stmt->kind == StmtKind::kSignal) {
      out.push_back(n.stmt->event.empty() ? n.stmt->name : n.stmt->event);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

OpResult DeliverSignal(RunLog& log, const Dag* dag, const std::string& name, const Value& data) {
  const RunState& s = log.state();
  if (s.Finished()) {
    return {OpStatus::kRefused,
            "run " + s.run_id + " has ended (" + RunStatusName(s.status) + "); the signal is not delivered"};
  }
  const std::vector<std::string> events = dag ? SignalEvents(*dag) : std::vector<std::string>{};
  if (!std::binary_search(events.begin(), events.end(), name)) {
    std::string msg = "no statement of run " + s.run_id + " (workflow " + s.workflow + ") takes the signal '" +
                      name + "'";
    if (auto m = ClosestMatch(name, events)) {
      msg += "; did you mean '" + *m + "'?";
    } else if (events.empty()) {
      msg += "; the workflow has no signal statements";
    } else {
      std::string list;
      for (const auto& e : events) list += (list.empty() ? "" : ", ") + e;
      msg += " (it takes: " + list + ")";
    }
    return {OpStatus::kRefused, msg};
  }
  log.Append(EventType::kSignalReceived, "",
             Value::MapOfUnique({{Value::String("name"), Value::String(name)}, {Value::String("data"), data}}));
  log.Flush(true);
  return {};
}

OpResult RetryRun(RunLog& log, const std::string& from) {
  const RunState& s = log.state();
  if (s.status != RunStatus::kFailed) {
    return {OpStatus::kRefused, "run " + s.run_id + " did not fail (it is " + RunStatusName(s.status) +
                                    "); retry continues failed runs"};
  }
  if (s.compensating && !s.completed_effects.empty()) {
    return {OpStatus::kRefused, "run " + s.run_id + " compensated its effects when it failed; start a new run"};
  }
  std::vector<std::string> failed;
  for (const auto& [name, in] : s.inst) {
    if (in.status == InstStatus::kFailed) failed.push_back(name);
  }
  std::sort(failed.begin(), failed.end());
  if (!from.empty()) {
    if (!std::binary_search(failed.begin(), failed.end(), from)) {
      std::string msg = "statement '" + from + "' of run " + s.run_id + " did not fail";
      if (auto m = ClosestMatch(from, failed)) msg += "; did you mean '" + *m + "'?";
      std::string list;
      for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
      return {OpStatus::kRefused, msg + " (failed: " + list + ")"};
    }
    failed = {from};
  }
  ValueList names;
  for (const auto& f : failed) names.push_back(Value::String(f));
  log.Append(EventType::kRunRetried, "", Value::MapOfUnique({{Value::String("retry"), Value::List(std::move(names))}}));
  log.Flush(true);
  return {};
}

}  // namespace aos
