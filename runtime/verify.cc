#include "runtime/verify.h"

#include <set>

#include "runtime/event.h"
#include "runtime/run_log.h"

namespace aos {
namespace {

// The run ids that have events, one seek per run (keys: run_id ‖ 0x00 ‖ seq).
std::vector<std::string> RunsWithEvents(Store& store) {
  std::vector<std::string> out;
  std::string start;
  for (;;) {
    std::string next;
    store.Scan(Column::kEvents, "", start, [&](std::string_view k, std::string_view) {
      next = std::string(k.substr(0, k.find('\0')));
      return false;
    });
    if (next.empty()) break;
    out.push_back(next);
    start = next;
    start.push_back('\x01');  // past every key of this run
  }
  return out;
}

// Reads a run's whole log; counts its events and reports what is wrong.
uint64_t CheckRunLog(Store& store, const std::string& run_id, VerifyReport* r) {
  try {
    return ScanRunEvents(store, run_id, [&](uint64_t seq, const Event* e, const std::string& error) {
      ++r->events;
      if (!e) {
        r->problems.push_back("run " + run_id + " event " + std::to_string(seq) + ": " + error);
      } else if (seq == 0 && e->type != EventType::kRunStarted) {
        r->problems.push_back("run " + run_id + ": the log does not begin with RunStarted");
      }
      return true;
    });
  } catch (const StoreError& e) {
    r->problems.push_back("run " + run_id + ": its log cannot be read: " + e.what());
    return 0;
  }
}

}  // namespace

VerifyReport VerifyDataDir(Store& store) {
  VerifyReport r;
  r.problems = store.CheckFiles(std::nullopt);
  std::set<std::string> indexed;
  std::vector<RunIndexEntry> listed;
  try {
    listed = ListRunsUnchecked(store);
  } catch (const StoreError& e) {
    // Nothing of the index can be trusted: every run is looked for below.
    r.problems.push_back(std::string("the run index cannot be read: ") + e.what());
  }
  for (const auto& run : listed) {
    ++r.runs;
    indexed.insert(run.run_id);
    if (run.workflow == "?") {
      r.problems.push_back("run " + run.run_id + ": damaged run index record");
      continue;
    }
    const size_t before = r.problems.size();
    const uint64_t n = CheckRunLog(store, run.run_id, &r);
    if (r.problems.size() > before) continue;  // already said
    if (n == 0) {
      r.problems.push_back("run " + run.run_id + ": in the run index, but its log has no events");
    } else if (n < run.events) {
      r.problems.push_back("run " + run.run_id + ": the index counts " + std::to_string(run.events) +
                           " events, the log holds " + std::to_string(n));
    }
  }
  std::vector<std::string> logged;
  try {
    logged = RunsWithEvents(store);
  } catch (const StoreError& e) {
    r.problems.push_back(std::string("the events cannot be listed: ") + e.what());
  }
  for (const auto& id : logged) {
    if (indexed.count(id)) continue;
    ++r.runs;
    // Started since the index was listed (workers write a shared store while
    // it is checked): a run's first batch holds its index record too.
    try {
      if (store.Get(Column::kRuns, id)) {
        CheckRunLog(store, id, &r);
        continue;
      }
    } catch (const StoreError&) {
    }
    r.problems.push_back("run " + id + ": has a log but no run index record (runs, inbox and status cannot see it)");
    CheckRunLog(store, id, &r);
  }
  return r;
}

}  // namespace aos
