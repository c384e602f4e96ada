// The process counters behind serve's /metrics: events by type, retries,
// model cost by currency, lateness of due runs.
#include <catch2/catch.hpp>


#include "runtime/metrics.h"

namespace aos {
namespace {

// The value of the Prometheus line starting with `series` (0 when absent).
double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_CASE("metrics count events, retries, model cost and lateness", "[metrics]") {
  const std::string before = metrics::PrometheusText();
  const Value usage = Value::Map({{Value::String("usage"),
                                   Value::Map({{Value::String("cost"), Value::MoneyOf(Money{1'500'000'000, "eur"})}})}});
  metrics::CountEvent(EventType::kStepCompleted, usage);
  metrics::CountEvent(EventType::kStepCompleted, Value());
  metrics::CountEvent(EventType::kAttemptFailed, Value::Map({{Value::String("retryable"), Value::Bool(true)}}));
  metrics::CountEvent(EventType::kAttemptFailed, Value::Map({{Value::String("retryable"), Value::Bool(false)}}));
  metrics::ObserveLateness(2'000'000);       // 2 ms
  metrics::ObserveLateness(1'500'000'000);   // 1.5 s
  const std::string after = metrics::PrometheusText();
  CHECK(Sample(after, "aos_steps_completed_total") - Sample(before, "aos_steps_completed_total") == 2);
  CHECK(Sample(after, "aos_events_total{type=\"AttemptFailed\"}") -
            Sample(before, "aos_events_total{type=\"AttemptFailed\"}") == 2);
  CHECK(Sample(after, "aos_retries_total") - Sample(before, "aos_retries_total") == 1);
  CHECK(Sample(after, "aos_model_cost_total{currency=\"eur\"}") -
            Sample(before, "aos_model_cost_total{currency=\"eur\"}") == Approx(1.5));
  CHECK(Sample(after, "aos_timer_lateness_seconds_count") - Sample(before, "aos_timer_lateness_seconds_count") == 2);
  CHECK(Sample(after, "aos_timer_lateness_max_seconds") >= 1.5);
  CHECK(Sample(after, "aos_timers_late_total{over=\"1\"}") - Sample(before, "aos_timers_late_total{over=\"1\"}") == 1);
  CHECK(Sample(after, "aos_timers_late_total{over=\"0.05\"}") -
            Sample(before, "aos_timers_late_total{over=\"0.05\"}") == 1);
  // Every series has its HELP and TYPE.
  CHECK(after.find("# TYPE aos_events_total counter") != std::string::npos);
  CHECK(after.find("# TYPE aos_timer_lateness_seconds summary") != std::string::npos);
}

}  // namespace
}  // namespace aos
