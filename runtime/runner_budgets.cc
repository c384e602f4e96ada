// Budgets (language.md §7, state.md §6): a run's `budget`, a workflow's
// `budget X per month|day` over every run of the period, and the config's
// `budgets:` over every workflow together. Spending across runs is kept in
// a ledger (Column::kMeta "spend\0PERIOD\0WORKFLOW\0RUN" -> billionths of
// the currency, decimal), one key per run and period that only that run
// writes, in the batch of the event that records the cost, so it is exact
// after a crash; a period's spending is the sum of its keys.
#include "runtime/runner_impl.h"

#include <algorithm>

#include "lang/model_cost.h"
#include "runtime/codec.h"

namespace aos {

namespace {

std::string LedgerPrefix(const std::string& period) { return std::string("spend") + '\0' + period + '\0'; }

}  // namespace

std::string Runner::Impl::PeriodKey(int64_t nanos, bool month) {
  const std::string day = FormatTimestamp(Timestamp{nanos}).substr(0, 10);  // YYYY-MM-DD, UTC
  return month ? day.substr(0, 7) : day;
}

void Runner::Impl::Spend(const Value& usage) {
  const Value* cost = usage.kind() == ValueKind::kMap ? usage.Find("cost") : nullptr;
  if (!cost || cost->kind() != ValueKind::kMoney || cost->as_money().nanos <= 0) return;
  const int64_t now = clock.NowNanos();
  for (bool month : {true, false}) {
    const std::string key = LedgerPrefix(PeriodKey(now, month)) + wf.name + '\0' + st.run_id;
    auto it = ledger.find(key);
    if (it == ledger.end()) {
      // This run alone writes its keys: after the first read, memory is right.
      auto raw = StoreOf().Get(Column::kMeta, key);
      it = ledger.emplace(key, raw ? std::strtoll(raw->c_str(), nullptr, 10) : 0).first;
    }
    it->second = SatAdd(it->second, cost->as_money().nanos);
    log.batch().Put(Column::kMeta, key, std::to_string(it->second));
  }
}

int64_t Runner::Impl::PeriodSpent(const std::string& prefix) {
  int64_t sum = 0;
  StoreOf().Scan(Column::kMeta, prefix, prefix, [&](std::string_view k, std::string_view v) {
    const std::string key(k);
    auto mine = ledger.find(key);  // this run's, as it is in memory (its batch may be unwritten)
    sum = SatAdd(sum, mine != ledger.end() ? mine->second : std::strtoll(std::string(v).c_str(), nullptr, 10));
    return true;
  });
  for (const auto& [key, nanos] : ledger) {
    if (key.rfind(prefix, 0) == 0 && !StoreOf().Get(Column::kMeta, key)) sum = SatAdd(sum, nanos);
  }
  return sum;
}

int64_t Runner::Impl::BudgetNanos() const {
  if (!wf.budget || wf.budget->kind != ExprKind::kLiteral || wf.budget->literal().kind() != ValueKind::kMoney) {
    return -1;
  }
  return wf.budget->literal().as_money().nanos;
}

int64_t Runner::Impl::SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

int64_t Runner::Impl::EstimateNanos(const CallRequest& req) const {
  if (!opt.config) return 0;
  const std::string model = StrOf(req.args.Find("model"));
  auto it = opt.config->models.find(model);
  if (it == opt.config->models.end()) return 0;
  const Value* mt = req.args.Find("max_tokens");
  return EstimateModelCostNanos(StrOf(req.args.Find("system")).size() + StrOf(req.args.Find("prompt")).size(),
                                mt && mt->kind() == ValueKind::kInt ? mt->as_int() : kDefaultMaxTokens,
                                it->second.input_per_mtok, it->second.output_per_mtok);
}

std::vector<Runner::Impl::BudgetCap> Runner::Impl::BudgetCaps() {
  std::vector<BudgetCap> caps;
  const int64_t now = clock.NowNanos();
  if (const int64_t budget = BudgetNanos(); budget >= 0) {
    const std::string cur = wf.budget->literal().as_money().currency;
    if (wf.budget_per.empty()) {
      caps.push_back({budget, st.spent_nanos, cur, "the budget of "});
    } else {
      const bool month = wf.budget_per == "month";
      caps.push_back({budget, PeriodSpent(LedgerPrefix(PeriodKey(now, month)) + wf.name + '\0'), cur,
                      wf.name + "'s budget per " + std::string(wf.budget_per) + " (all its runs) of "});
    }
  }
  if (opt.config) {
    for (bool month : {true, false}) {
      const std::optional<Money>& b = month ? opt.config->budget_month : opt.config->budget_day;
      if (!b) continue;
      caps.push_back({b->nanos, PeriodSpent(LedgerPrefix(PeriodKey(now, month))), b->currency.str(),
                      std::string("the budget of all workflows per ") + (month ? "month" : "day") +
                          " (the config's budgets:) of "});
    }
  }
  return caps;
}

bool Runner::Impl::BudgetAllows(int s, uint32_t node, const std::string& key, const CallRequest& req) {
  const std::vector<BudgetCap> caps = BudgetCaps();
  if (caps.empty()) return true;
  const int64_t est = EstimateNanos(req);
  const BudgetCap* over = nullptr;
  for (const auto& c : caps) {
    // A raise approved in this run lifts each cap by what was approved.
    if (SatAdd(SatAdd(c.spent, reserved_nanos), est) > SatAdd(c.amount, st.budget_raised_nanos)) over = &c;
  }
  if (!over) return true;
  const Instance& in = st.At(key);
  const bool asked = in.requested && StrOf(in.request.Find("purpose")) == "budget";
  if (asked && !in.decided) {
    Block(s, node);
    return false;
  }
  if (asked && in.decided) {
    const Value* ap = in.decision.Find("approved");
    if (!ap || ap->kind() != ValueKind::kBool || !ap->as_bool()) {
      FailStep(key, "budget.exceeded", "the model call would exceed " + over->what +
                                           FormatMoneyAmount(Money{over->amount, over->currency}) + " " +
                                           over->currency + ", and the raise was refused");
      return false;
    }
  }
  const std::string& cur = over->currency;
  auto money = [&](int64_t n) { return FormatMoneyAmount(Money{n, cur}) + " " + cur; };
  const int64_t cap = SatAdd(over->amount, st.budget_raised_nanos);
  RequestApproval(key, "budget",
                  "Model call " + key + " would bring spending to about " + money(SatAdd(over->spent, est)) +
                      ", over " + over->what + money(cap) + ". Approve to raise it by " +
                      money(over->amount) + " for this run, or reject to fail the call (budget.exceeded).",
                  M({{S("spent"), Value::MoneyOf(Money{over->spent, cur})},
                     {S("estimate"), Value::MoneyOf(Money{est, cur})},
                     {S("budget"), Value::MoneyOf(Money{cap, cur})},
                     {S("raise_by"), Value::MoneyOf(Money{over->amount, cur})}}),
                  0, "");
  Block(s, node);
  return false;
}

}  // namespace aos
