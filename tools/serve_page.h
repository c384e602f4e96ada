// The operator's page of `aosrun serve`: server-rendered HTML, no build
// step and no external assets (it works offline), usable on a phone. Pure
// rendering: the handlers in aosrun_serve.cc fetch what it shows.
#ifndef AOS_TOOLS_SERVE_PAGE_H_
#define AOS_TOOLS_SERVE_PAGE_H_

#include <string>
#include <vector>

#include "runtime/operations.h"
#include "runtime/run_log.h"
#include "runtime/trace.h"

namespace aosrun::page {

std::string Escape(const std::string& text);
// A value as people read it: records and maps as tables, lists of records
// as tables with a column per field, scalars as text.
std::string Readable(const aos::Value& v, int depth = 0);

// The login form; `csrf` is also set as the aos_login cookie (a login
// form posted from elsewhere lacks it).
std::string Login(const std::string& problem, const std::string& csrf);
// A page with a message and a way back (an unknown run, ...).
std::string Message(const std::string& title, const std::string& text);
// A field an approval's `returns` type asks the approver for.
struct ReturnField {
  std::string name, type;
};
// The inbox (the start page). `now` is for "waiting since" and overdue;
// `fields[i]` are item i's `returns` fields (a form), empty when none.
std::string Inbox(const std::vector<aos::InboxItem>& items, const std::vector<std::vector<ReturnField>>& fields,
                  const std::string& csrf, int64_t now_nanos, const std::string& flash);
std::string Runs(const std::vector<aos::RunIndexEntry>& runs, const std::string& status, const std::string& workflow);
std::string Run(const aos::RunOutcome& o, const aos::Trace& t, const std::string& csrf);

}  // namespace aosrun::page

#endif  // AOS_TOOLS_SERVE_PAGE_H_
