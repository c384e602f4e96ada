// Metrics: what this process has done since it started, for serve's
// /metrics in Prometheus text — events appended by type (steps completed,
// attempts failed and retried, ...), model spending, and how late due runs
// were woken. Process-wide counters (relaxed atomics: one increment per
// event on the hot path); they reset when the process restarts, as
// Prometheus counters do.
#ifndef AOS_RUNTIME_METRICS_H_
#define AOS_RUNTIME_METRICS_H_

#include <cstdint>
#include <string>

#include "lang/value.h"
#include "runtime/event.h"

namespace aos::metrics {

// RunLog::Append calls this for every event it appends.
void CountEvent(EventType type, const Value& data);
// The driver: a due run (timer, retry, timeout) woken `late_nanos` after
// its due time.
void ObserveLateness(int64_t late_nanos);

// The counters as Prometheus text (# HELP / # TYPE lines included).
std::string PrometheusText();

}  // namespace aos::metrics

#endif  // AOS_RUNTIME_METRICS_H_
