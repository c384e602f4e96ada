#include "runtime/metrics.h"

#include <atomic>
#include <mutex>
#include <map>

namespace aos::metrics {
namespace {

std::atomic<uint64_t> g_events[kMaxEventType + 1];
std::atomic<uint64_t> g_retries{0};
// Model spending, by currency (rarely more than one): billionths.
std::mutex g_cost_mu;
std::map<std::string, int64_t> g_cost;
// Lateness of due runs: count, sum and maximum (nanoseconds), and how many
// were later than 50 ms (the target's bound) and than 1 s.
std::atomic<uint64_t> g_late_count{0}, g_late_sum{0}, g_late_max{0}, g_late_50ms{0}, g_late_1s{0};

void AddCost(const Value& data) {
  const Value* usage = data.Find("usage");
  const Value* cost = usage ? usage->Find("cost") : nullptr;
  if (!cost || cost->kind() != ValueKind::kMoney || cost->as_money().nanos <= 0) return;
  std::lock_guard<std::mutex> lock(g_cost_mu);
  g_cost[cost->as_money().currency] += cost->as_money().nanos;
}

}  // namespace

void CountEvent(EventType type, const Value& data) {
  const auto t = static_cast<size_t>(type);
  if (t <= kMaxEventType) g_events[t].fetch_add(1, std::memory_order_relaxed);
  if (type == EventType::kAttemptFailed) {
    const Value* again = data.Find("retryable");
    if (again && again->kind() == ValueKind::kBool && again->as_bool()) g_retries.fetch_add(1, std::memory_order_relaxed);
    AddCost(data);
  } else if (type == EventType::kStepCompleted) {
    AddCost(data);
  }
}

void ObserveLateness(int64_t late_nanos) {
  const uint64_t late = late_nanos > 0 ? static_cast<uint64_t>(late_nanos) : 0;
  g_late_count.fetch_add(1, std::memory_order_relaxed);
  g_late_sum.fetch_add(late, std::memory_order_relaxed);
  uint64_t max = g_late_max.load(std::memory_order_relaxed);
  while (late > max && !g_late_max.compare_exchange_weak(max, late, std::memory_order_relaxed)) {
  }
  if (late > 50'000'000) g_late_50ms.fetch_add(1, std::memory_order_relaxed);
  if (late > 1'000'000'000) g_late_1s.fetch_add(1, std::memory_order_relaxed);
}

std::string PrometheusText() {
  auto seconds = [](uint64_t nanos) { return std::to_string(static_cast<double>(nanos) / 1e9); };
  std::string out = "# HELP aos_events_total Events appended since the process started, by type.\n"
                    "# TYPE aos_events_total counter\n";
  for (uint8_t t = 1; t <= kMaxEventType; ++t) {
    out += std::string("aos_events_total{type=\"") + EventTypeName(static_cast<EventType>(t)) + "\"} " +
           std::to_string(g_events[t].load(std::memory_order_relaxed)) + "\n";
  }
  out += "# HELP aos_steps_completed_total Statements completed (StepCompleted events).\n"
         "# TYPE aos_steps_completed_total counter\n"
         "aos_steps_completed_total " +
         std::to_string(g_events[static_cast<size_t>(EventType::kStepCompleted)].load()) + "\n";
  out += "# HELP aos_retries_total Failed attempts that are tried again.\n# TYPE aos_retries_total counter\n"
         "aos_retries_total " + std::to_string(g_retries.load()) + "\n";
  out += "# HELP aos_model_cost_total Model spending recorded (completed calls, and answered calls that failed).\n"
         "# TYPE aos_model_cost_total counter\n";
  {
    std::lock_guard<std::mutex> lock(g_cost_mu);
    for (const auto& [currency, nanos] : g_cost) {
      out += "aos_model_cost_total{currency=\"" + currency + "\"} " + FormatMoneyAmount(Money{nanos, currency}) + "\n";
    }
  }
  out += "# HELP aos_timer_lateness_seconds How late due runs (timers, retries, timeouts) were woken.\n"
         "# TYPE aos_timer_lateness_seconds summary\n"
         "aos_timer_lateness_seconds_sum " + seconds(g_late_sum.load()) + "\n"
         "aos_timer_lateness_seconds_count " + std::to_string(g_late_count.load()) + "\n"
         "# HELP aos_timer_lateness_max_seconds The latest a due run was woken.\n"
         "# TYPE aos_timer_lateness_max_seconds gauge\n"
         "aos_timer_lateness_max_seconds " + seconds(g_late_max.load()) + "\n"
         "# HELP aos_timers_late_total Due runs woken later than 50 ms and than 1 s.\n"
         "# TYPE aos_timers_late_total counter\n"
         "aos_timers_late_total{over=\"0.05\"} " + std::to_string(g_late_50ms.load()) + "\n"
         "aos_timers_late_total{over=\"1\"} " + std::to_string(g_late_1s.load()) + "\n";
  return out;
}

}  // namespace aos::metrics
