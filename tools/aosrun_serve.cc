#include "tools/aosrun_serve.h"
#include "tools/aosrun_cli.h"
#include "tools/aosrun_remote.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <iostream>
#include <map>
#include <sstream>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "lang/eval.h"
#include "lang/plan.h"
#include "runtime/codec.h"
#include "runtime/driver.h"
#include "runtime/event.h"
#include "runtime/metrics.h"
#include "runtime/operations.h"
#include "runtime/run_log.h"
#include "runtime/schema.h"
#include "runtime/trace.h"
#include "tools/serve_page.h"

namespace aosrun {
namespace {

using aos::Value;

// n random bytes as hex, from /dev/urandom; "" when it cannot be read.
std::string Hex(const unsigned char* p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += hex[p[i] >> 4];
    out += hex[p[i] & 15];
  }
  return out;
}

std::string RandomHex(size_t n) {
  std::string raw(n, '\0');
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  if (!rnd.read(raw.data(), static_cast<std::streamsize>(n))) return "";
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

// The serve token: $AOS_SERVE_TOKEN, the config's secrets file, or one made
// at first start in DATA/serve.token (mode 0600). "" when none can be had.
std::string Token(const ServeSetup& s) {
  if (auto t = ConfiguredToken(s.config)) return *t;
  const std::string path = s.data_dir + "/serve.token";
  std::ifstream in(path);
  std::string token;
  if (in && std::getline(in, token) && token.size() >= 32) return token;
  token = RandomHex(24);
  if (token.empty()) return "";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return "";
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  return ok ? token : "";
}

bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void Json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void Error(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
  Json(res, status,
       "{\"error\":{\"kind\":" + aos::JsonQuote(kind) + ",\"message\":" + aos::JsonQuote(message) + "}}");
}

// A refused operation: its reason as an HTTP status and error kind.
void Refused(httplib::Response& res, const aos::OpResult& r) {
  switch (r.status) {
    case aos::OpStatus::kNotFound: return Error(res, 404, "unknown_name", r.message);
    case aos::OpStatus::kStale: return Error(res, 409, "stale_payload", r.message);
    case aos::OpStatus::kForbidden: return Error(res, 403, "forbidden", r.message);
    case aos::OpStatus::kInvalid: return Error(res, 400, "bad_request", r.message);
    case aos::OpStatus::kEnded:
    case aos::OpStatus::kConflict:
    case aos::OpStatus::kDone: break;
  }
  Error(res, 409, "refused", r.message);
}

// The request's JSON body as a map (an empty body is {}); false after
// answering 400 or 413.
bool Body(const httplib::Request& req, httplib::Response& res, Value* out) {
  if (req.body.size() > (1 << 20)) {
    Error(res, 413, "too_large", "the request body is larger than 1 MiB");
    return false;
  }
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    *out = Value::Map({});
    return true;
  }
  std::string error;
  auto v = aos::ParseJson(req.body, &error);
  if (!v || v->kind() != aos::ValueKind::kMap) {
    Error(res, 400, "bad_request", "the body must be a JSON object" + (error.empty() ? "" : ": " + error));
    return false;
  }
  *out = *v;
  return true;
}

std::string Str(const Value& m, const char* key) {
  const Value* v = m.Find(key);
  return v && v->kind() == aos::ValueKind::kString ? v->as_string() : "";
}

class Api {
 public:
  Api(ServeSetup& s, aos::Driver& d, std::string token) : s_(s), d_(d), token_(std::move(token)) {}

  // SIGHUP and POST /api/reload: the files again; the old ones stay when
  // one does not check (its diagnostics in *report, and on stderr).
  bool Reload(std::string* report, int* files = nullptr) {
    std::lock_guard<std::mutex> lock(reload_mu_);
    std::vector<std::pair<std::shared_ptr<aos::Program>, std::string>> fresh;
    if (!s_.reload || !s_.reload(&fresh, report)) {
      std::cerr << *report << "serve: reload refused (the files do not check); serving what was loaded before\n";
      return false;
    }
    if (!d_.Call([&] { d_.ReplacePrograms(fresh); })) {
      *report = "serve is stopping";
      return false;
    }
    if (files) *files = static_cast<int>(fresh.size());
    std::cerr << "serve: reloaded " << fresh.size() << " files\n";
    return true;
  }


  void Routes(httplib::Server& srv) {
    srv.set_payload_max_length(1 << 20);
    // Slow clients are cut off after 5 s and hold one of 64 threads until
    // then; the rest queue (the work itself is serialized on the driver).
    srv.new_task_queue = [] { return new httplib::ThreadPool(64); };
    srv.set_read_timeout(5, 0);
    srv.set_write_timeout(5, 0);
    srv.set_keep_alive_timeout(5);
    // Answers go out at once: without it a kept-alive connection's next
    // answer can wait out a delayed ACK (Nagle), ~40 ms.
    srv.set_tcp_nodelay(true);
    srv.Get("/api/health", [](const httplib::Request&, httplib::Response& res) { Json(res, 200, "{\"ok\":true}"); });
    srv.Post("/api/runs", Auth([this](const auto& q, auto& r) { StartRun(q, r); }));
    srv.Get("/api/runs", Auth([this](const auto& q, auto& r) { ListRuns(q, r); }));
    srv.Get(R"(/api/runs/([A-Za-z0-9._-]+))", Auth([this](const auto& q, auto& r) { Status(q, r); }));
    srv.Get(R"(/api/runs/([A-Za-z0-9._-]+)/events)", Auth([this](const auto& q, auto& r) { Events(q, r); }));
    srv.Get(R"(/api/runs/([A-Za-z0-9._-]+)/trace)", Auth([this](const auto& q, auto& r) { TraceOf(q, r); }));
    srv.Get("/api/inbox", Auth([this](const auto& q, auto& r) { Inbox(q, r); }));
    srv.Post(R"(/api/runs/([A-Za-z0-9._-]+)/approvals/([^/]+))", Auth([this](const auto& q, auto& r) { Decide(q, r); }));
    srv.Post(R"(/api/runs/([A-Za-z0-9._-]+)/signals/([^/]+))", Auth([this](const auto& q, auto& r) { Signal(q, r); }));
    srv.Post(R"(/api/runs/([A-Za-z0-9._-]+)/cancel)", Auth([this](const auto& q, auto& r) { Cancel(q, r); }));
    srv.Post(R"(/api/runs/([A-Za-z0-9._-]+)/retry)", Auth([this](const auto& q, auto& r) { Retry(q, r); }));
    srv.Post(R"(/api/runs/([A-Za-z0-9._-]+)/resume)", Auth([this](const auto& q, auto& r) { Resume(q, r); }));
    srv.Post(R"(/api/runs/([A-Za-z0-9._-]+)/upgrade)", Auth([this](const auto& q, auto& r) { Upgrade(q, r); }));
    srv.Get("/metrics", Auth([this](const auto& q, auto& r) { Metrics(q, r); }));
    srv.Post("/api/reload", Auth([this](const auto&, auto& r) {
      std::string report;
      int files = 0;
      if (!Reload(&report, &files)) return Error(r, 400, "invalid", report);
      Json(r, 200, "{\"ok\":true,\"files\":" + std::to_string(files) + "}");
    }));
    // Webhook triggers: their own auth (the trigger's), not the serve token.
    srv.Post(R"(/hooks/.+)", [this](const httplib::Request& q, httplib::Response& r) {
      if (!d_.accepting()) return Error(r, 503, "shutting_down", "serve is stopping");
      Hook(q, r);  // the run it starts or signals is locked inside
    });
    // The page.
    srv.Get("/login", [this](const httplib::Request&, httplib::Response& res) { LoginForm(res, ""); });
    srv.Post("/login", [this](const httplib::Request& q, httplib::Response& r) { Login(q, r); });
    srv.Get("/", Page([this](const auto& q, auto& r, const std::string& csrf) { InboxPage(q, r, csrf); }));
    srv.Post("/decide", Form([this](const auto& q, auto& r, const std::string&) { DecidePage(q, r); }));
    srv.Get("/runs", Page([this](const auto& q, auto& r, const std::string&) { RunsPage(q, r); }));
    srv.Get(R"(/runs/([A-Za-z0-9._-]+))",
            Page([this](const auto& q, auto& r, const std::string& csrf) { RunPage(q, r, csrf); }));
    srv.Post(R"(/runs/([A-Za-z0-9._-]+)/cancel)",
             Form([this](const auto& q, auto& r, const std::string&) { CancelPage(q, r); }));
    srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        std::rethrow_exception(ep);
      } catch (const aos::RunBusy& e) {
        // Another worker runs it (a store several workers share): try again.
        res.set_header("Retry-After", "1");
        return Error(res, 409, "busy", e.what());
      } catch (const aos::LeaseLost& e) {
        // Another worker took the run over, or won a new run's first claim:
        // it runs it now; asked again, this worker finds it there.
        std::cerr << "serve: " << e.what() << "\n";
        res.set_header("Retry-After", "1");
        return Error(res, 409, "busy", e.what());
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      std::cerr << "serve: a request failed: " << what << "\n";  // not to the client
      Error(res, 500, "internal", "the request failed (serve's log says why)");
    });
    // The HTTP engine's own refusals (an unknown path, a body past the
    // payload limit, a request it could not read) answer in the API's shape.
    srv.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      switch (res.status) {
        case 404: return Error(res, 404, "not_found", "no such resource");
        case 413: return Error(res, 413, "too_large", "the request body is larger than 1 MiB");
        case 400: return Error(res, 400, "bad_request", "the request could not be read");
        default: return Error(res, res.status, "error", "the request was refused");
      }
    });
  }

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Every route but /api/health needs the token: nothing about the request
  // is logged or echoed when it is wrong.
  Handler Auth(Handler h) {
    return [this, h](const httplib::Request& req, httplib::Response& res) {
      const std::string auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) != 0 || !SameSecret(auth.substr(7), token_)) {
        Error(res, 401, "unauthorized", "a valid serve token is needed (Authorization: Bearer TOKEN)");
        return;
      }
      // On this HTTP thread: a handler that changes a run takes its lock.
      if (!d_.accepting()) return Error(res, 503, "shutting_down", "serve is stopping");
      h(req, res);
    };
  }

  void StartRun(const httplib::Request& req, httplib::Response& res) {
    Value body;
    if (!Body(req, res, &body)) return;
    const Value* input = body.Find("input");
    auto st = d_.Start(Str(body, "workflow"), input ? *input : Value::Map({}), Str(body, "run_id"));
    if (st.status >= 400) {
      const char* kind = st.status == 404 ? "unknown_workflow" : st.status == 409 ? "refused"
                         : st.status >= 500 ? "damaged" : "bad_request";
      return Error(res, st.status, kind, st.error);
    }
    Json(res, st.status, aos::OutcomeJson(st.run_id, st.outcome));
  }

  // ?status=&workflow= filter; ?limit=N&after=RUN page (in run id order:
  // the next page starts after the last id of this one).
  void ListRuns(const httplib::Request& req, httplib::Response& res) {
    const std::string status = req.get_param_value("status"), workflow = req.get_param_value("workflow");
    const std::string after = req.get_param_value("after"), limit_text = req.get_param_value("limit");
    size_t limit = std::string::npos;
    if (!limit_text.empty()) {
      char* end = nullptr;
      const long n = std::strtol(limit_text.c_str(), &end, 10);
      if (*end || n < 1) return Error(res, 400, "bad_request", "limit is a whole number of at least 1");
      limit = static_cast<size_t>(n);
    }
    std::string out = "[";
    size_t listed = 0;
    for (const auto& r : aos::ListRuns(d_.store())) {
      if (!after.empty() && r.run_id <= after) continue;
      if (!status.empty() && status != aos::RunStatusName(r.status)) continue;
      if (!workflow.empty() && workflow != r.workflow) continue;
      if (listed++ == limit) break;
      out += std::string(out.size() > 1 ? "," : "") + "{\"run_id\":" + aos::JsonQuote(r.run_id) +
             ",\"workflow\":" + aos::JsonQuote(r.workflow) + ",\"status\":" + aos::JsonQuote(aos::RunStatusName(r.status)) +
             ",\"started\":" + aos::JsonQuote(aos::FormatTimestamp(aos::Timestamp{r.started_at})) +
             ",\"events\":" + std::to_string(r.events) + "}";
    }
    Json(res, 200, out + "]");
  }

  // Loads a run for a request; false after answering 404 (or 500).
  bool Load(const std::string& id, aos::RunLog& log, httplib::Response& res) {
    std::string error;
    if (!aos::ValidRunId(id) || !d_.store().Get(aos::Column::kRuns, id)) {
      Error(res, 404, "not_found", "no run " + id);
      return false;
    }
    if (!log.Load(id, &error)) {
      Error(res, 500, "damaged", error);
      return false;
    }
    return true;
  }

  void Status(const httplib::Request& req, httplib::Response& res) {
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    Json(res, 200, aos::OutcomeJson(log.state().run_id, aos::OutcomeOf(log.state())));
  }

  void Events(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(id, log, res)) return;
    std::string out = "[";
    aos::ScanRunEvents(d_.store(), id, [&](uint64_t seq, const aos::Event* e, const std::string&) {
      if (e) out += std::string(out.size() > 1 ? "," : "") + aos::EventToJson(*e, seq);
      return true;
    });
    Json(res, 200, out + "]");
  }

  // The run as OpenTelemetry OTLP/JSON (`aosrun trace --otlp`).
  void TraceOf(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(id, log, res)) return;
    aos::Trace t;
    std::string error;
    if (!aos::BuildTrace(d_.store(), id, d_.DagOf(log.state(), nullptr), &t, &error)) {
      return Error(res, 500, "damaged", error);
    }
    Json(res, 200, aos::RenderOtlpJson(t));
  }

  void Inbox(const httplib::Request&, httplib::Response& res) {
    std::vector<std::string> damaged;
    std::string out = "[";
    for (const auto& i : aos::Inbox(d_.store(), d_.clock(), &damaged)) {
      out += std::string(out.size() > 1 ? "," : "") + aos::InboxItemJson(i);
    }
    Json(res, 200, out + "]");
  }

  void Decide(const httplib::Request& req, httplib::Response& res) {
    if (!d_.WithRun(req.matches[1], [&] { DecideLocked(req, res); })) Stopping(res);
  }
  static void Stopping(httplib::Response& res) { Error(res, 503, "shutting_down", "serve is stopping"); }
  void DecideLocked(const httplib::Request& req, httplib::Response& res) {
    Value body;
    if (!Body(req, res, &body)) return;
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    const std::string decision = Str(body, "decision");
    if (decision != "approve" && decision != "reject") {
      return Error(res, 400, "bad_request", "decision is \"approve\" or \"reject\"");
    }
    aos::Decision d;
    d.approve = decision == "approve";
    d.by = Str(body, "as").empty() ? "operator" : Str(body, "as");
    d.comment = Str(body, "comment");
    if (const Value* v = body.Find("data")) d.data = *v;
    d.expect_hash = Str(body, "expect_hash");
    d.at_nanos = d_.clock().NowNanos();
    const aos::Program* program = nullptr;
    const aos::Dag* dag = log.state().Finished() ? nullptr : d_.DagOf(log.state(), &program);
    if (!log.state().Finished() && !dag) {
      // Nothing here could go on from the decision: the run would be due for good.
      return Error(res, 409, "refused", "the workflow text stored with run " + log.state().run_id + " no longer checks");
    }
    const aos::OpResult r = aos::Decide(log, program, dag, req.matches[2], d);
    if (!r.ok()) return Refused(res, r);
    ContinueUnlessAsked(body, log, res);
  }

  void Signal(const httplib::Request& req, httplib::Response& res) {
    if (!d_.WithRun(req.matches[1], [&] { SignalLocked(req, res); })) Stopping(res);
  }
  void SignalLocked(const httplib::Request& req, httplib::Response& res) {
    Value body;
    if (!Body(req, res, &body)) return;
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    const aos::Dag* dag = log.state().Finished() ? nullptr : d_.DagOf(log.state(), nullptr);
    const Value* data = body.Find("data");
    const aos::OpResult r = aos::DeliverSignal(log, dag, req.matches[2], data ? *data : Value());
    if (!r.ok()) return Refused(res, r);
    if (log.state().status != aos::RunStatus::kWaiting) {
      return Json(res, 202, aos::OutcomeJson(log.state().run_id, aos::OutcomeOf(log.state())));
    }
    ContinueUnlessAsked(body, log, res);
  }

  // After a decision or a signal: the run goes on now (200, its outcome), or
  // with {"continue": false} the answer is 202 once the event is recorded
  // and a worker continues the run (`aosrun approve --no-continue`).
  void ContinueUnlessAsked(const Value& body, aos::RunLog& log, httplib::Response& res) {
    const Value* go = body.Find("continue");
    if (go && go->kind() == aos::ValueKind::kBool && !go->as_bool()) {
      d_.Wake(log.state().run_id);
      return Json(res, 202, aos::OutcomeJson(log.state().run_id, aos::OutcomeOf(log.state())));
    }
    Continue(log.state().run_id, res);
  }

  // `aosrun resume RUN`: continue it now (serve would at its due time).
  void Resume(const httplib::Request& req, httplib::Response& res) {
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    Continue(req.matches[1], res);
  }

  // `aosrun resume RUN --upgrade FILE`: {file, source, force}.
  void Upgrade(const httplib::Request& req, httplib::Response& res) {
    Value body;
    if (!Body(req, res, &body)) return;
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    const std::string file = Str(body, "file"), source = Str(body, "source");
    if (file.empty() || source.empty()) return Error(res, 400, "bad_request", "upgrade needs file and source");
    const Value* force = body.Find("force");
    std::vector<std::string> blockers;
    aos::RunOutcome o;
    const aos::OpResult r = d_.Upgrade(req.matches[1], file, source,
                                       force && force->kind() == aos::ValueKind::kBool && force->as_bool(),
                                       &blockers, &o);
    if (r.status == aos::OpStatus::kConflict && !blockers.empty()) {
      std::string list;
      for (const auto& b : blockers) list += "\n  " + b;
      return Error(res, 409, "upgrade_blocked",
                   "run " + std::string(req.matches[1]) + " cannot move to " + file + ":" + list +
                       "\n  (completed steps keep their recorded results; --force upgrades anyway)");
    }
    if (!r.ok()) return Refused(res, r);
    Json(res, 200, aos::OutcomeJson(req.matches[1], o));
  }

  void Cancel(const httplib::Request& req, httplib::Response& res) {
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    aos::RunOutcome o;
    std::string error;
    if (!d_.Cancel(req.matches[1], &o, &error)) return Error(res, 409, "refused", error);
    Json(res, 200, aos::OutcomeJson(req.matches[1], o));
  }

  // Continues a failed run from its failed statements (`aosrun retry`).
  void Retry(const httplib::Request& req, httplib::Response& res) {
    if (!d_.WithRun(req.matches[1], [&] { RetryLocked(req, res); })) Stopping(res);
  }
  void RetryLocked(const httplib::Request& req, httplib::Response& res) {
    Value body;
    if (!Body(req, res, &body)) return;
    aos::RunLog log(d_.store(), d_.clock());
    if (!Load(req.matches[1], log, res)) return;
    if (log.state().status == aos::RunStatus::kFailed) {
      const aos::Program* program = nullptr;
      if (!d_.DagOf(log.state(), &program)) {
        return Error(res, 409, "refused", "the workflow text stored with run " + log.state().run_id + " no longer checks");
      }
    }
    const aos::OpResult r = aos::RetryRun(log, Str(body, "from"));
    if (!r.ok()) return Refused(res, r);
    Continue(log.state().run_id, res);
  }

  void Continue(const std::string& id, httplib::Response& res) {
    aos::RunOutcome o;
    std::string error;
    if (!d_.Continue(id, &o, &error)) return Error(res, 500, "damaged", error);
    Json(res, 200, aos::OutcomeJson(id, o));
  }

  void Metrics(const httplib::Request&, httplib::Response& res) {
    std::map<std::string, int> by_status;
    for (const char* st : {"running", "waiting", "completed", "failed", "cancelled"}) by_status[st] = 0;
    for (const auto& r : aos::ListRuns(d_.store())) ++by_status[aos::RunStatusName(r.status)];
    std::string out = "# HELP aos_runs Runs in the data directory, by status.\n# TYPE aos_runs gauge\n";
    for (const auto& [st, n] : by_status) out += "aos_runs{status=\"" + st + "\"} " + std::to_string(n) + "\n";
    out += "# HELP aos_due_runs Waiting runs with a due time.\n# TYPE aos_due_runs gauge\n";
    out += "aos_due_runs " + std::to_string(d_.due_count()) + "\n";
    out += aos::metrics::PrometheusText();
    res.set_content(out, "text/plain; version=0.0.4");
  }

  // ---- webhooks (serve.md §1): the trigger's auth, a JSON body, a
  // deterministic run id; answered only once the start or signal is synced.
  bool HookAuthorized(const aos::TriggerDecl& t, const httplib::Request& req, std::string* auth_header) {
    const aos::Expr& a = *t.auth;
    const aos::Expr& secret_call = *a.args()[0];
    if (secret_call.args().empty() || secret_call.args()[0]->kind != aos::ExprKind::kLiteral) return false;
    const auto secret = d_.Secret(secret_call.args()[0]->literal().ToDisplayString());
    if (!secret || secret->empty()) {
      std::cerr << "serve: webhook " << t.name << ": its secret is not set; refusing every request\n";
      return false;
    }
    if (a.name() == "bearer") {
      *auth_header = "authorization";
      return SameSecret(req.get_header_value("Authorization"), "Bearer " + *secret);
    }
    const std::string header = a.args()[1]->literal().ToDisplayString();
    *auth_header = header;
    std::string given = req.get_header_value(header);
    if (given.rfind("sha256=", 0) == 0) given = given.substr(7);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret->data(), static_cast<int>(secret->size()),
         reinterpret_cast<const unsigned char*>(req.body.data()), req.body.size(), md, &len);
    std::string lower;
    for (char c : given) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return SameSecret(lower, Hex(md, len));
  }
  void Hook(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<aos::Program> program;
    const aos::TriggerDecl* t = d_.Webhook(req.path, &program);
    if (!t) return Error(res, 404, "not_found", "no webhook here");
    std::string auth_header;
    if (!HookAuthorized(*t, req, &auth_header)) return Error(res, 401, "unauthorized", "not authorized");
    Value json;
    if (!Body(req, res, &json)) return;
    if (t->body) {
      // `body: T`: the delivery must fit T (read as T declares its fields).
      Value typed;
      const std::string why = aos::CheckValue(*program, t->body.get(), json, &typed, false, "request.json");
      if (!why.empty()) return Error(res, 400, "bad_request", why);
      json = std::move(typed);
    }
    aos::ValueMap headers, query;
    std::transform(auth_header.begin(), auth_header.end(), auth_header.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [k, v] : req.headers) {
      std::string lower;
      for (char c : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == auth_header || lower == "authorization") continue;  // never handed to the workflow
      headers.emplace_back(Value::String(lower), Value::String(v));
    }
    for (const auto& [k, v] : req.params) query.emplace_back(Value::String(k), Value::String(v));
    const Value request = Value::Map({{Value::String("method"), Value::String(req.method)},
                                      {Value::String("path"), Value::String(req.path)},
                                      {Value::String("query"), Value::Map(std::move(query))},
                                      {Value::String("headers"), Value::Map(std::move(headers))},
                                      {Value::String("json"), json},
                                      {Value::String("body"), Value::String(req.body)}});
    std::string key;
    if (!t->key) {
      // Without a key, the body's SHA-256 is the delivery's identity.
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int md_len = 0;
      EVP_Digest(req.body.data(), req.body.size(), md, &md_len, EVP_sha256(), nullptr);
      key = Hex(md, md_len);
    } else {
      aos::MapEnv env;
      env.Set("request", request);
      aos::EvalResult k = aos::Evaluate(*t->key, env);
      if (!k.ok()) return Error(res, 400, "bad_request", "the key: " + k.error().message);
      if (k.value().is_null() || k.value().ToDisplayString().empty()) {
        return Error(res, 400, "bad_request", "the delivery has no key (the trigger's key is empty)");
      }
      key = k.value().ToDisplayString();
    }
    int http = 0;
    std::string error, run;
    const aos::RunOutcome o =
        d_.Fire(*program, *t, "request", request, aos::Driver::TriggerRunId(t->name, key), &http, &error, &run);
    if (http >= 400) return Error(res, http, http == 404 ? "not_found" : "refused", error);
    Json(res, http, aos::OutcomeJson(run, o));
  }

  // ---- the page: a session cookie after logging in with the token, and a
  // CSRF token in every form.
  using PageHandler = std::function<void(const httplib::Request&, httplib::Response&, const std::string& csrf)>;

  static void Html(httplib::Response& res, const std::string& html) {
    res.set_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'");
    res.set_header("X-Frame-Options", "DENY");
    res.set_content(html, "text/html; charset=utf-8");
  }
  static void SeeOther(httplib::Response& res, const std::string& to) {
    res.status = 303;
    res.set_header("Location", to);
  }
  // Cookie `name` of the request, or "".
  static std::string Cookie(const httplib::Request& req, const std::string& name) {
    const std::string cookies = req.get_header_value("Cookie");
    const std::string key = name + "=";
    for (size_t at = cookies.find(key); at != std::string::npos; at = cookies.find(key, at + 1)) {
      if (at != 0 && cookies[at - 1] != ' ' && cookies[at - 1] != ';') continue;
      const size_t end = cookies.find(';', at);
      return cookies.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
    }
    return "";
  }
  // The session's CSRF token, or "" when the request has no valid session.
  std::string Session(const httplib::Request& req) {
    const std::string id = Cookie(req, "aos_session");
    if (id.empty()) return "";
    std::lock_guard<std::mutex> lock(sessions_mu_);
    if (auto it = sessions_.find(id); it != sessions_.end()) {
      if (std::chrono::steady_clock::now() < it->second.second) return it->second.first;
      sessions_.erase(it);  // expired: log in again
    }
    return "";
  }
  // The login form, with a fresh token in the form and in a cookie.
  static void LoginForm(httplib::Response& res, const std::string& problem) {
    const std::string csrf = RandomHex(16);
    res.set_header("Set-Cookie", "aos_login=" + csrf + "; HttpOnly; SameSite=Strict; Path=/login");
    Html(res, page::Login(problem, csrf));
  }
  Handler Page(PageHandler h) {
    return [this, h](const httplib::Request& req, httplib::Response& res) {
      const std::string csrf = Session(req);
      if (csrf.empty()) return SeeOther(res, "/login");
      if (!d_.accepting()) return Error(res, 503, "shutting_down", "serve is stopping");
      h(req, res, csrf);
    };
  }
  Handler Form(PageHandler h) {
    return Page([h](const httplib::Request& req, httplib::Response& res, const std::string& csrf) {
      if (!SameSecret(req.get_param_value("csrf"), csrf)) {
        res.status = 403;
        return LoginForm(res, "The form expired: log in again.");
      }
      h(req, res, csrf);
    });
  }
  void Login(const httplib::Request& req, httplib::Response& res) {
    // The form must be the one this serve handed out (its cookie and field
    // match): a login posted from another site is refused.
    const std::string form = req.get_param_value("csrf");
    if (form.empty() || !SameSecret(form, Cookie(req, "aos_login"))) {
      res.status = 403;
      return LoginForm(res, "The form expired: log in again.");
    }
    if (!SameSecret(req.get_param_value("token"), token_)) {
      res.status = 401;
      return LoginForm(res, "That is not the serve token.");
    }
    const std::string id = RandomHex(24), csrf = RandomHex(24);
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      // A session lasts 12 hours; the oldest go when there are too many.
      const auto now = std::chrono::steady_clock::now();
      for (auto it = sessions_.begin(); it != sessions_.end();) it = it->second.second < now ? sessions_.erase(it) : ++it;
      if (sessions_.size() > 1000) sessions_.erase(sessions_.begin());
      sessions_[id] = {csrf, now + std::chrono::hours(12)};
    }
    res.set_header("Set-Cookie", "aos_session=" + id + "; HttpOnly; SameSite=Strict; Path=/");
    SeeOther(res, "/");
  }
  void InboxPage(const httplib::Request& req, httplib::Response& res, const std::string& csrf) {
    std::vector<std::string> damaged;
    auto items = aos::Inbox(d_.store(), d_.clock(), &damaged);
    std::string flash = req.get_param_value("msg");
    for (const auto& d : damaged) flash += (flash.empty() ? "" : " ") + d;
    std::vector<std::vector<page::ReturnField>> fields;
    for (const auto& i : items) fields.push_back(ReturnFields(i.run_id, i.name, nullptr, nullptr));
    Html(res, page::Inbox(items, fields, csrf, d_.clock().NowNanos(), flash));
  }
  // The fields of approval `name`'s `returns` record type (its type and the
  // program, for typing what the form sends); empty when it has none.
  std::vector<page::ReturnField> ReturnFields(const std::string& run, const std::string& name,
                                              const aos::TypeRef** type, const aos::Program** program) {
    std::vector<page::ReturnField> out;
    aos::RunLog log(d_.store(), d_.clock());
    std::string error;
    if (!log.Load(run, &error)) return out;
    const aos::Program* p = nullptr;
    const aos::Dag* dag = d_.DagOf(log.state(), &p);
    if (!dag) return out;
    const aos::TypeRef* returns = aos::ApprovalReturns(*dag, name);
    if (!returns) return out;
    if (type) *type = returns;
    if (program) *program = p;
    if (auto t = p->types.find(returns->name); t != p->types.end()) {
      for (const auto& f : t->second->fields) out.push_back({f.name, f.type ? f.type->name : "any"});
    }
    return out;
  }

  void DecidePage(const httplib::Request& req, httplib::Response& res) {
    const std::string run = req.get_param_value("run");
    if (!aos::ValidRunId(run)) return SeeOther(res, "/?msg=" + httplib::detail::encode_query_param("No run " + run));
    if (!d_.WithRun(run, [&] { DecidePageLocked(req, res); })) Stopping(res);
  }
  void DecidePageLocked(const httplib::Request& req, httplib::Response& res) {
    const std::string run = req.get_param_value("run"), name = req.get_param_value("name");
    aos::RunLog log(d_.store(), d_.clock());
    std::string error;
    if (!aos::ValidRunId(run) || !log.Load(run, &error)) return SeeOther(res, "/?msg=" + httplib::detail::encode_query_param("No run " + run));
    aos::Decision d;
    d.approve = req.get_param_value("decision") == "approve";
    d.by = req.get_param_value("as").empty() ? "operator (page)" : req.get_param_value("as");
    d.comment = req.get_param_value("comment");
    d.expect_hash = req.get_param_value("hash");
    // `returns` fields from the form, each read as its type (as --input is).
    const aos::TypeRef* rtype = nullptr;
    const aos::Program* rprogram = nullptr;
    const auto fields = ReturnFields(run, name, &rtype, &rprogram);
    if (d.approve && !fields.empty() && rprogram) {
      aos::ValueMap data;
      auto t = rprogram->types.find(rtype->name);
      for (const auto& f : t->second->fields) {
        const std::string text = req.get_param_value("field_" + f.name);
        if (text.empty()) continue;
        std::string why;
        auto v = aos::TypedInput(text, f.type.get(), &why);
        if (!v) return SeeOther(res, "/?msg=" + httplib::detail::encode_query_param(f.name + ": " + why));
        data.emplace_back(Value::String(f.name), *v);
      }
      d.data = Value::Map(std::move(data));
    }
    d.at_nanos = d_.clock().NowNanos();
    const aos::Program* program = nullptr;
    const aos::Dag* dag = log.state().Finished() ? nullptr : d_.DagOf(log.state(), &program);
    const aos::OpResult r = aos::Decide(log, program, dag, name, d);
    if (r.status != aos::OpStatus::kDone) return SeeOther(res, "/?msg=" + httplib::detail::encode_query_param(r.message));
    aos::RunOutcome o;
    d_.Continue(run, &o, &error);
    SeeOther(res, "/runs/" + run);
  }
  void RunsPage(const httplib::Request& req, httplib::Response& res) {
    const std::string status = req.get_param_value("status"), workflow = req.get_param_value("workflow");
    std::vector<aos::RunIndexEntry> runs;
    for (auto& r : aos::ListRuns(d_.store())) {
      if (!status.empty() && status != aos::RunStatusName(r.status)) continue;
      if (!workflow.empty() && workflow != r.workflow) continue;
      runs.push_back(std::move(r));
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.started_at > b.started_at; });
    Html(res, page::Runs(runs, status, workflow));
  }
  void RunPage(const httplib::Request& req, httplib::Response& res, const std::string& csrf) {
    aos::RunLog log(d_.store(), d_.clock());
    std::string error;
    const std::string id = req.matches[1];
    if (!aos::ValidRunId(id) || !log.Load(id, &error)) {
      res.status = 404;
      return Html(res, page::Message("No such run", "There is no run " + id + " in this data directory."));
    }
    aos::Trace t;
    const aos::Dag* dag = d_.DagOf(log.state(), nullptr);
    aos::BuildTrace(d_.store(), id, dag, &t, &error);
    Html(res, page::Run(aos::OutcomeOf(log.state()), t, csrf));
  }
  void CancelPage(const httplib::Request& req, httplib::Response& res) {
    aos::RunOutcome o;
    std::string error;
    d_.Cancel(req.matches[1], &o, &error);
    SeeOther(res, "/runs/" + std::string(req.matches[1]));
  }

  ServeSetup& s_;
  std::mutex reload_mu_;  // one reload at a time (SIGHUP, the API)
  aos::Driver& d_;
  std::string token_;
  std::mutex sessions_mu_;
  // session id -> its CSRF token and when it expires
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> sessions_;
};

}  // namespace

void BlockServeSignals() {
  sigset_t sigs = ServeSignals();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
}

int Serve(ServeSetup& s) {
  const size_t colon = s.listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) port = std::atoi(s.listen.c_str() + colon + 1);
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::cerr << "aosrun: --listen takes HOST:PORT, not '" << s.listen << "'\n";
    return 64;
  }
  const std::string host = s.listen.substr(0, colon);
  const std::string token = Token(s);
  if (token.empty()) {
    std::cerr << "aosrun: cannot make the serve token in " << s.data_dir << "/serve.token\n";
    return 74;
  }
  // SIGTERM, SIGINT and SIGHUP are taken by one thread (sigwait); every
  // other thread blocks them (BlockServeSignals, before any thread started).
  sigset_t sigs = ServeSignals();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  aos::Driver driver(*s.store, *s.clock, *s.calls, s.run, s.config ? s.config->serve_max_runs : 8);
  for (auto& [program, text] : s.programs) driver.AddProgram(program, text);
  // Recovered before anything is answered: the due index is whole, and no
  // request races the recovery.
  try {
    driver.Recover();
  } catch (const std::exception& e) {
    std::cerr << "aosrun: cannot recover the runs of " << s.data_dir << ": " << e.what() << "\n";
    return 74;
  }
  std::thread runs([&] { driver.Loop(); });
  httplib::Server srv;
  Api api(s, driver, token);
  api.Routes(srv);
  // cpp-httplib listens with a backlog of 5 (compiled into Debian's library):
  // a hundred clients connecting at once would see resets. The socket is
  // noted as it is made and listened on again with a deep backlog.
  int listen_fd = -1;
  srv.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  const int bound = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (bound > 0 && listen_fd >= 0) ::listen(listen_fd, 4096);
  if (bound <= 0) {
    std::cerr << "aosrun: cannot listen on " << s.listen << "\n";
    driver.Stop();
    runs.join();
    return 74;
  }
  const std::string address = "http://" + host + ":" + std::to_string(bound);
  {
    // Where the CLI and scripts find this process (written whole, then renamed).
    const std::string tmp = s.data_dir + "/serve.json.tmp";
    std::ofstream(tmp) << "{\"address\":" << aos::JsonQuote(address) << ",\"pid\":" << ::getpid() << "}\n";
    std::rename(tmp.c_str(), (s.data_dir + "/serve.json").c_str());
  }
  if (host != "127.0.0.1" && host != "localhost" && host != "::1") {
    std::cerr << "aosrun: warning: serving on " << host << " without TLS: put a TLS proxy in front\n";
  }
  std::cerr << "serving " << s.data_dir << " on " << address << " (token in " << s.data_dir
            << "/serve.token unless AOS_SERVE_TOKEN is set)\n";
  std::atomic<bool> listen_returned{false};
  std::thread stopper([&] {
    for (;;) {
      int sig = 0;
      sigwait(&sigs, &sig);
      if (sig == SIGHUP) {
        std::string report;
        api.Reload(&report);
        continue;
      }
      break;
    }
    // serve.grace: the work in hand may finish within it; past it the
    // process exits anyway (what was in flight resumes at the next start:
    // effects in doubt are settled with their keys).
    const int64_t grace = s.config ? s.config->serve_grace_nanos : 10'000'000'000;
    std::thread([grace, info = s.data_dir + "/serve.json"] {
      std::this_thread::sleep_for(std::chrono::nanoseconds(grace));
      std::cerr << "serve: work still in hand after the grace period; stopping anyway (it resumes at the next start)\n";
      std::remove(info.c_str());
      std::_Exit(0);
    }).detach();
    // A signal taken while serve was starting (they are blocked from before
    // exec) can come before the server listens, and cpp-httplib's stop()
    // does nothing until it does: wait for that (or for listening to end).
    while (!srv.is_running() && !listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    srv.stop();
  });
  srv.listen_after_bind();  // returns once the requests in hand are answered
  listen_returned = true;
  driver.Stop();
  runs.join();
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  }
  std::remove((s.data_dir + "/serve.json").c_str());
  std::cerr << "serve stopped\n";
  return 0;
}

}  // namespace aosrun
