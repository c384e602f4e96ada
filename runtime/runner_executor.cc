#include "runtime/runner_impl.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include "runtime/call_pool.h"
#include "runtime/codec.h"

namespace aos {

void Runner::Impl::Dispatch(Job job) {
  dispatched[job.inst] = true;
  ++in_flight;
  // A handler that runs calls on its own event loop takes it directly.
  auto shared = std::make_shared<Job>(std::move(job));
  {
    std::lock_guard<std::mutex> lock(mu);
    ++async_started;
  }
  bool started = false;
  try {
    started = calls.Start(shared->req, [this, shared](CallResult r) {
      std::lock_guard<std::mutex> lock(mu);
      done.push_back(Done{std::move(*shared), std::move(r)});
      ++async_finished;
      cv_done.notify_all();
    });
  } catch (const std::exception&) {
    started = false;  // the handler could not start it: the pool will
  }
  if (started) return;
  // A blocking call: on the process's shared pool. It is skipped when the
  // run stops before a thread takes it (the log already says how to redo
  // it), and counted as finished either way, so StopWorkers knows when no
  // pool thread can touch this runner any more.
  CallPool::Shared().Submit([this, shared] {
    bool skip;
    {
      std::lock_guard<std::mutex> lock(mu);
      skip = stopping;
    }
    CallResult r;
    if (!skip) {
      try {
        r = calls.Invoke(shared->req);
      } catch (const std::exception& e) {
        r.ok = false;
        r.error_kind = "net";
        r.message = e.what();
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    if (!skip) done.push_back(Done{std::move(*shared), std::move(r)});
    ++async_finished;
    cv_done.notify_all();
  });
}

void Runner::Impl::StopWorkers() {
  // Calls in flight hold a pointer to this runner: those a handler runs on
  // its own loop and those a pool thread took finish (bounded by the calls'
  // own deadlines); those not taken yet are skipped.
  std::unique_lock<std::mutex> lock(mu);
  stopping = true;
  cv_done.wait(lock, [&] { return async_finished == async_started; });
}

void Runner::Impl::Collect(int64_t deadline) {
  std::deque<Done> got;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (done.empty()) {
      if (deadline) {
        const int64_t wait = std::max<int64_t>(0, deadline - clock.NowNanos());
        cv_done.wait_for(lock, std::chrono::nanoseconds(std::min<int64_t>(wait, 1'000'000'000)),
                         [&] { return !done.empty(); });
      } else {
        cv_done.wait(lock, [&] { return !done.empty(); });
      }
    }
    got.swap(done);
  }
  for (auto& d : got) Finish(d);
}

void Runner::Impl::Finish(Done& d) {
  --in_flight;
  dispatched.erase(d.job.inst);
  if (auto r = reserved.find(d.job.inst); r != reserved.end()) {
    reserved_nanos -= r->second;
    reserved.erase(r);
  }
  const int s = d.job.scope;
  const uint32_t node = d.job.node;
  const std::string& key = d.job.inst;
  const Stmt& stmt = StmtOf(node);
  const int64_t ms = (clock.NowNanos() - d.job.started) / 1'000'000;
  CheckTypedAnswer(node, d.result);
  auto too_deep = [&] {
    if (d.result.ok && DeeperThan(d.result.value, kMaxValueDepth)) {
      d.result.ok = false;
      d.result.error_kind = "expr.error";
      d.result.message = TooDeepMessage(key);
    }
  };
  too_deep();  // the answer, before kb.add or E.summary keeps anything of it
  FinishKb(d.job, d.result);
  FinishSummary(d.job.req, d.result);
  too_deep();  // what kb.search made of it
  if (d.result.ok) {
    if (stmt.kind == StmtKind::kEffect) {
      const Instance& in = st.At(key);
      log.Append(key, events::EffectCompleted{.key = in.key, .result = d.result.value});
      log.batch().Put(Column::kIdempotency, IdempotencyKey(in.key), EncodeValue(d.result.value));
    }
    events::StepCompleted done_event{.result = d.result.value, .duration_ms = ms};
    if (d.job.req.kind == RequestKind::kLlm) {
      done_event.usage = ModelUsage(d.result.value);  // for budgets and `aosrun cost`
    } else if (!d.result.usage.is_null()) {
      done_event.usage = d.result.usage;  // embeddings
    }
    if (done_event.usage) Spend(*done_event.usage);
    CacheStore(node, d.job.cache_key, d.result.value);
    log.Append(key, done_event);
    MarkFinished(s, node, true);
  } else {
    OnAttemptFailed(s, node, key, d.result);
  }
  if (opt.durability == Durability::kStrict) log.Flush(true);
  while (!deferred.empty() && in_flight < opt.concurrency) {
    ready.push_back(deferred.front());
    deferred.pop_front();
  }
}

int64_t Runner::Impl::BackoffMs(const RetrySpec* spec, int failures, int64_t retry_after_ms) {
  int64_t delay_ms = 0;
  if (spec && spec->backoff) {
    double d = static_cast<double>(spec->backoff->nanos) / 1e6 * std::pow(spec->factor, failures);
    if (spec->max_delay) d = std::min(d, static_cast<double>(spec->max_delay->nanos) / 1e6);
    if (spec->jitter) d = std::uniform_real_distribution<double>(0, d)(Rng());
    delay_ms = static_cast<int64_t>(std::min(d, 4e13));
  }
  if (retry_after_ms > delay_ms) delay_ms = retry_after_ms;
  return std::min<int64_t>(delay_ms, 366LL * 24 * 3600 * 1000);
}

Value Runner::Impl::ModelUsage(const Value& answer) {
  ValueMap usage;
  for (const char* f : {"model", "tokens_in", "tokens_out", "cost"}) {
    if (const Value* v = answer.Find(f)) usage.emplace_back(S(f), *v);
  }
  return M(std::move(usage));
}

void Runner::Impl::OnAttemptFailed(int s, uint32_t node, const std::string& key, const CallResult& raw) {
  CallResult r = raw;
  r.message = RedactSecrets(r.message);
  const Stmt& stmt = StmtOf(node);
  const RetrySpec* spec = RetryOf(stmt);
  Instance& in = st.At(key);
  // A typed answer that does not fit is asked for again twice even without
  // a `retry`: the mismatch is fed back, and models usually correct it.
  const int allowed = 1 + static_cast<int>(spec ? spec->attempts : (r.error_kind == "llm.schema" ? 2 : 0));
  const bool retryable = Retryable(spec, r.error_kind);
  const Modifier* esc = stmt.FindModifier(ModifierKind::kEscalate);
  const bool again = retryable && in.attempts < allowed;
  const int64_t delay_ms = again ? BackoffMs(spec, in.failures, r.retry_after_ms) : 0;
  events::AttemptFailed failed{.attempt = in.attempts,
                               .kind = r.error_kind,
                               .message = r.message,
                               .retryable = again,
                               .delay_ms = delay_ms};
  // A model call that answered and still failed (an answer that does not
  // fit its type) was paid for: its usage counts like a completed one's.
  if (const Value* cost = r.value.Find("cost"); cost && cost->kind() == ValueKind::kMoney) {
    failed.usage = ModelUsage(r.value);
    Spend(*failed.usage);
  }
  log.Append(key, failed);
  Instance& i2 = st.At(key);
  // `escalate after N` on the statement, or `on failure escalate` on the
  // workflow once the statement's attempts are spent: the operator decides.
  const bool escalate = (esc && i2.failures >= esc->count) ||
                        (!again && wf.on_failure == FailurePolicy::kEscalate);
  if (escalate) {
    RequestApproval(key, "escalate",
                    key + " failed " + std::to_string(i2.failures) + " times (" + r.error_kind + ": " +
                        r.message + "). Approve to retry, approve with --payload '{\"skip\": VALUE}' "
                        "to continue with VALUE, or reject to fail the run.",
                    M({{S("kind"), S(r.error_kind)}, {S("message"), S(r.message)}}), 0, "");
    Block(s, node);
    return;
  }
  if (again) {
    ready.emplace_back(s, node);
    return;
  }
  FailStep(key, r.error_kind, r.message);
}

}  // namespace aos
