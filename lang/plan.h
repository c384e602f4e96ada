// The dry-run plan of `aoscheck plan`: what a run of a checked workflow would
// do, in execution order and parallel groups, with each effect's idempotency
// key evaluated from the inputs where possible (else shown as written),
// approvals, waits, and model calls with a cost estimate. Pure: nothing runs.
#ifndef AOS_LANG_PLAN_H_
#define AOS_LANG_PLAN_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lang/checker.h"
#include "lang/dag.h"
#include "lang/value.h"

namespace aos {

struct ModelPrice {
  double input_per_mtok = 0;   // per million input tokens
  double output_per_mtok = 0;  // per million output tokens
  std::string currency = "usd";
};

struct PlanOptions {
  std::vector<std::pair<std::string, std::string>> inputs;  // --input k=v
  // Models of the config file; without them model costs are unknown.
  std::optional<std::map<std::string, ModelPrice>> models;
};

struct PlanItem {
  uint32_t group = 0;   // parallel group among its siblings, 1-based
  uint32_t depth = 0;   // for nesting
  std::string kind;     // "step", "effect", ...
  std::string name;
  std::string call;     // "cms.post(\"/posts\")", or "" for non-calls
  std::vector<std::pair<std::string, std::string>> details;  // ("key", "\"publish-W48\"")
};

struct PlanReport {
  std::string signature;  // weekly_issue(week: string = "2026-W48")
  std::vector<std::string> input_errors;  // bad --input values; nothing else is set
  std::vector<PlanItem> items;
  int effects = 0, compensable = 0, approvals = 0, model_calls = 0, entity_writes = 0,
      waits = 0, signals = 0, http_reads = 0;
  bool cost_known = false;
  Money cost_low, cost_high;  // a loop's body counted once per item when its items are known
  bool loop_items_unknown = false;  // some loop's items are not known: its body counted once
  std::string budget_note;          // when the estimate can pass the workflow's budget
};

PlanReport BuildPlan(const Program& program, const Dag& dag, const PlanOptions& options);
std::string RenderPlanText(const PlanReport& report);
// The triggers that start `dag`'s workflow (and the webhooks that signal
// runs): how each fires and, for schedules, the next `count` fire times
// after `now` (unix nanos). Text lines, or a JSON list.
std::string RenderTriggers(const Program& program, const Dag& dag, int64_t now, int count, bool json);
std::string RenderPlanJson(const PlanReport& report);

// Types a command-line input by the parameter's declared type: a string
// parameter takes the text as it is; other types parse it (JSON for lists,
// maps and records). nullopt with *error when the text does not fit.
std::optional<Value> TypedInput(const std::string& text, const TypeRef* type,
                                std::string* error);

}  // namespace aos

#endif  // AOS_LANG_PLAN_H_
