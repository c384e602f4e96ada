#include "tools/aosrun_remote.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "lang/value.h"
#include "stdlib/http_client.h"

namespace aosrun {

std::optional<Remote> FindServe(const std::string& data_dir, const aos::Config& config) {
  std::ifstream in(data_dir + "/serve.json");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string error;
  auto v = aos::ParseJson(ss.str(), &error);
  if (!v || !v->Find("address") || !v->Find("pid")) return std::nullopt;
  const aos::Value* pid = v->Find("pid");
  if (pid->kind() != aos::ValueKind::kInt || ::kill(static_cast<pid_t>(pid->as_int()), 0) != 0) return std::nullopt;
  Remote r;
  r.address = v->Find("address")->ToDisplayString();
  if (auto t = ConfiguredToken(&config)) {
    r.token = *t;
  } else {
    std::ifstream tf(data_dir + "/serve.token");
    std::getline(tf, r.token);
  }
  return r;
}

std::optional<std::string> ConfiguredToken(const aos::Config* config) {
  if (const char* t = std::getenv("AOS_SERVE_TOKEN"); t && *t) return std::string(t);
  if (config) {
    if (auto it = config->secrets.find("AOS_SERVE_TOKEN"); it != config->secrets.end()) return it->second;
  }
  return std::nullopt;
}

int Call(const Remote& r, const std::string& method, const std::string& path, const std::string& json_body,
         std::string* body, std::string* error) {
  aos::HttpRequest req;
  req.method = method;
  req.url = r.address + path;
  req.body = json_body;
  req.content_type = "application/json";
  req.headers.emplace_back("Authorization", "Bearer " + r.token);
  req.timeout_ms = 600'000;  // a run may take a while to reach its next wait
  aos::HttpResponse resp;
  aos::HttpError err;
  if (!aos::PerformHttp(req, &resp, &err)) {
    *error = err.message;
    return 0;
  }
  *body = resp.body;
  return static_cast<int>(resp.status);
}

bool ParseOutcome(const std::string& json, std::string* run_id, aos::RunOutcome* o, std::string* message,
                  std::string* kind) {
  std::string error;
  auto v = aos::ParseJson(json, &error);
  if (!v) return false;
  const aos::Value* st = v->Find("status");
  if (!st || !v->Find("run_id")) {
    // Not an outcome: an API error, {error: {kind, message}}.
    if (const aos::Value* e = v->Find("error"); e && e->Find("message")) {
      *message = e->Find("message")->ToDisplayString();
      if (const aos::Value* k = e->Find("kind")) *kind = k->ToDisplayString();
    }
    return false;
  }
  *run_id = v->Find("run_id")->ToDisplayString();
  const std::string s = st->ToDisplayString();
  o->status = s == "completed" ? aos::RunStatus::kCompleted
              : s == "failed"  ? aos::RunStatus::kFailed
              : s == "cancelled" ? aos::RunStatus::kCancelled
              : s == "waiting"   ? aos::RunStatus::kWaiting
                                 : aos::RunStatus::kRunning;
  o->output = v->Find("output") ? *v->Find("output") : aos::Value();
  o->error = v->Find("error") ? *v->Find("error") : aos::Value();
  // The API prints times as RFC 3339 strings; Report shows them as given.
  o->waiting_on = v->Find("waiting_on") ? *v->Find("waiting_on") : aos::Value();
  return true;
}

}  // namespace aosrun
