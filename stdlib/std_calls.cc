#include "stdlib/std_calls.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "runtime/codec.h"
#include "stdlib/http_client.h"

namespace aos {

namespace {


std::string Str(const Value* v) { return v ? v->ToDisplayString() : ""; }

CallResult Fail(std::string kind, std::string message, int64_t retry_after = -1) {
  CallResult r;
  r.error_kind = std::move(kind);
  r.message = std::move(message);
  r.retry_after_ms = retry_after;
  return r;
}

CallResult Ok(Value v) {
  CallResult r;
  r.ok = true;
  r.value = std::move(v);
  return r;
}

long long NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Value HttpResultValue(long status, const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body) {
  ValueMap h;
  for (const auto& [k, v] : headers) h.emplace_back(S(k), S(v));
  std::string err;
  std::optional<Value> json = ParseJson(body, &err);
  return Value::MapOfUnique({{S("status"), Value::Int(status)},
                             {S("headers"), Value::Map(std::move(h))},
                             {S("body"), S(body)},
                             {S("json"), json ? *json : Value()}});
}

// An HTTP-based call: the attempt to make and how its answer becomes the
// call's result. Invoke performs it on the calling thread; Start hands it to
// the engine.
struct StdCalls::HttpPlan {
  HttpRequest req;
  std::function<CallResult(bool ok, HttpResponse& resp, HttpError& err)> finish;
};

CallResult StdCalls::Invoke(const CallRequest& req) {
  if (req.kind == RequestKind::kEmail) return Email(req);
  CallResult refused;
  auto plan = Plan(req, &refused);
  if (!plan) return refused;
  HttpResponse resp;
  HttpError err;
  const bool ok = PerformHttp(plan->req, &resp, &err);
  return plan->finish(ok, resp, err);
}

bool StdCalls::Start(const CallRequest& req, std::function<void(CallResult)> done) {
  if (req.kind == RequestKind::kEmail) return false;  // SMTP stays a blocking call on a worker
  CallResult refused;
  auto plan = Plan(req, &refused);
  if (!plan) {
    done(std::move(refused));
    return true;
  }
  auto finish = std::move(plan->finish);
  engine_.Submit(plan->req, [finish = std::move(finish), done = std::move(done)](
                                bool ok, HttpResponse resp, HttpError err) { done(finish(ok, resp, err)); });
  return true;
}

std::optional<StdCalls::HttpPlan> StdCalls::Plan(const CallRequest& req, CallResult* refused) {
  if (req.kind == RequestKind::kHttp) return PlanHttp(req);
  if (req.kind == RequestKind::kLlm) return PlanChat(req, refused);
  if (req.kind == RequestKind::kEmbed) return PlanEmbed(req, refused);
  *refused = Fail("effect.unknown", "no handler for calls of kind '" + std::string(RequestKindName(req.kind)) + "'");
  return std::nullopt;
}

namespace {

int64_t RetryAfter(const HttpResponse& resp) {
  for (const auto& [k, v] : resp.headers) {
    if (k == "retry-after") return ParseRetryAfterMs(v, NowSeconds());
  }
  return -1;
}

std::string StatusKind(long status) { return "http." + std::to_string(status >= 400 && status <= 599 ? status : 500); }

}  // namespace

std::optional<StdCalls::HttpPlan> StdCalls::PlanHttp(const CallRequest& req) {
  HttpPlan plan;
  HttpRequest& h = plan.req;
  h.method = Str(req.args.Find("method"));
  h.url = Str(req.args.Find("url"));
  if (const Value* q = req.args.Find("query"); q && q->kind() == ValueKind::kMap) {
    for (const auto& [k, v] : q->as_map()) h.query.emplace_back(k.ToDisplayString(), v.ToDisplayString());
  }
  if (const Value* hs = req.args.Find("headers"); hs && hs->kind() == ValueKind::kMap) {
    for (const auto& [k, v] : hs->as_map()) h.headers.emplace_back(k.ToDisplayString(), v.ToDisplayString());
  }
  if (const Value* j = req.args.Find("json"); j) {
    h.body = j->ToJson();
    h.content_type = "application/json";
  } else if (const Value* b = req.args.Find("body"); b) {
    h.body = b->ToDisplayString();
    h.content_type = "text/plain; charset=utf-8";
  }
  h.idempotency_key = req.idempotency_key;
  if (req.timeout_ms > 0) h.timeout_ms = static_cast<long>(req.timeout_ms);
  const std::string where = h.method + " " + RedactUrl(h.url);
  const bool effect = !req.idempotency_key.empty();
  plan.finish = [where, effect](bool ok, HttpResponse& resp, HttpError& err) -> CallResult {
    if (!ok) return Fail(err.kind, err.message);
    if (!HttpErrorKind(resp.status).empty()) {
      // The exact status is the kind ("http.404"); `retry on [http.4xx]` and
      // the default `http.5xx` match it by class. The body is left out of
      // the message: a server may echo what it was sent.
      return Fail(StatusKind(resp.status), where + " answered " + std::to_string(resp.status), RetryAfter(resp));
    }
    const size_t first = resp.body.find_first_not_of(" \t\r\n");
    const bool looks_json = first != std::string::npos && (resp.body[first] == '{' || resp.body[first] == '[');
    if (looks_json && !effect && JsonDepth(resp.body) > kMaxJsonDepth) {
      // A read whose answer is too deep fails with the reason (not silently
      // `json: null`). An effect's answer is kept with json null: the effect
      // happened, and failing it would send it again.
      return Fail("net", where + " answered JSON nested more than " + std::to_string(kMaxJsonDepth) +
                             " levels deep (the limit)");
    }
    return Ok(HttpResultValue(resp.status, resp.headers, resp.body));
  };
  return plan;
}

std::optional<StdCalls::HttpPlan> StdCalls::PlanChat(const CallRequest& req, CallResult* refused) {
  const std::string model = Str(req.args.Find("model"));
  auto it = config_.models.find(model);
  if (it == config_.models.end()) {
    *refused = Fail("llm.config", "model '" + model + "' is not in the config's models (aos.yaml)");
    return std::nullopt;
  }
  const ModelConfig& m = it->second;
  ValueList messages;
  const Value* system = req.args.Find("system");
  const bool typed = req.args.Find("typed") && req.args.Find("typed")->kind() == ValueKind::kBool &&
                     req.args.Find("typed")->as_bool();
  std::string sys = system && !system->is_null() ? system->ToDisplayString() : "";
  if (typed) {
    // response_format json_object is widely supported (OpenAI, Ollama, vLLM,
    // llama.cpp); the schema itself goes into the instructions.
    const Value* schema = req.args.Find("schema");
    const Value* type = schema ? schema->Find("type") : nullptr;
    const bool object = !type || (type->kind() == ValueKind::kString && type->as_string() == "object");
    sys += (sys.empty() ? "" : "\n\n") + std::string(object ? "Answer with one JSON object only" : "Answer with JSON only");
    if (schema && !schema->is_null()) sys += ", matching this JSON Schema:\n" + schema->ToJson();
    sys += ".";
  }
  if (!sys.empty()) {
    messages.push_back(Value::MapOfUnique({{S("role"), S("system")}, {S("content"), S(sys)}}));
  }
  messages.push_back(Value::MapOfUnique({{S("role"), S("user")}, {S("content"), S(Str(req.args.Find("prompt")))}}));
  ValueMap body = {{S("model"), S(m.model)}, {S("messages"), Value::List(std::move(messages))}};
  if (const Value* t = req.args.Find("temperature"); t && !t->is_null()) body.emplace_back(S("temperature"), *t);
  if (const Value* t = req.args.Find("max_tokens"); t && !t->is_null()) body.emplace_back(S("max_tokens"), *t);
  if (typed) {
    // json_object mode insists on an object: only asked for object types.
    const Value* schema = req.args.Find("schema");
    const Value* type = schema ? schema->Find("type") : nullptr;
    if (!type || (type->kind() == ValueKind::kString && type->as_string() == "object")) {
      body.emplace_back(S("response_format"), Value::MapOfUnique({{S("type"), S("json_object")}}));
    }
  }
  HttpPlan plan;
  HttpRequest& h = plan.req;
  h.method = "POST";
  h.url = m.base_url + (m.base_url.size() && m.base_url.back() == '/' ? "" : "/") + "chat/completions";
  h.body = Value::MapOfUnique(std::move(body)).ToJson();
  h.content_type = "application/json";
  if (!m.api_key_env.empty()) {
    if (const char* key = std::getenv(m.api_key_env.c_str())) {
      h.headers.emplace_back("Authorization", std::string("Bearer ") + key);
    }
  }
  if (req.timeout_ms > 0) h.timeout_ms = static_cast<long>(req.timeout_ms);
  const auto start = std::chrono::steady_clock::now();
  const double in_price = m.input_per_mtok, out_price = m.output_per_mtok;
  const std::string currency = m.currency;
  plan.finish = [=](bool ok, HttpResponse& resp, HttpError& err) -> CallResult {
    if (!ok) return Fail(err.kind, err.message);
    if (resp.status == 429) return Fail("llm.rate_limit", "model " + model + " is rate limited", RetryAfter(resp));
    if (resp.status >= 400) return Fail(StatusKind(resp.status), "model " + model + " answered " + std::to_string(resp.status));
    std::string perr;
    auto reply = ParseJson(resp.body, &perr);
    const Value* choices = reply ? reply->Find("choices") : nullptr;
    if (!choices || choices->kind() != ValueKind::kList || choices->as_list().empty()) {
      return Fail("llm.schema", "model " + model + " sent a reply without choices");
    }
    const Value* msg = choices->as_list()[0].Find("message");
    const Value* content = msg ? msg->Find("content") : nullptr;
    // No text is no answer: null or missing content (a refusal, a tool call,
    // a filtered reply) must not read as the word "null".
    if (!content || content->kind() != ValueKind::kString) {
      return Fail("llm.empty", "model " + model + " answered without text content");
    }
    const std::string text = content->as_string();
    Value data;
    if (typed) {
      // Any JSON value: the runner checks it against the declared type.
      auto parsed = ParseJson(text, &perr);
      if (!parsed) return Fail("llm.schema", "model " + model + " did not answer with JSON: " + perr);
      data = *parsed;
    }
    const Value* usage = reply->Find("usage");
    auto tokens = [&](const char* k) -> int64_t {
      // A server's counts are trusted within reason: never negative, never
      // more than a billion tokens a call.
      const Value* v = usage ? usage->Find(k) : nullptr;
      return v && v->kind() == ValueKind::kInt ? std::clamp<int64_t>(v->as_int(), 0, 1'000'000'000) : 0;
    };
    const int64_t in = tokens("prompt_tokens"), out = tokens("completion_tokens");
    const double cost = std::max(0.0, (static_cast<double>(in) * in_price + static_cast<double>(out) * out_price) / 1e6);
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    return Ok(Value::MapOfUnique({{S("text"), S(text)},
                                  {S("data"), data},
                                  {S("model"), S(model)},
                                  {S("tokens_in"), Value::Int(in)},
                                  {S("tokens_out"), Value::Int(out)},
                                  {S("cost"), Value::MoneyOf(Money{std::llround(cost * 1e9), currency})},
                                  {S("latency_ms"), Value::Int(ms)}}));
  };
  return plan;
}

std::optional<StdCalls::HttpPlan> StdCalls::PlanEmbed(const CallRequest& req, CallResult* refused) {
  const std::string model = Str(req.args.Find("model"));
  auto it = config_.models.find(model);
  if (it == config_.models.end()) {
    *refused = Fail("llm.config", "model '" + model + "' is not in the config's models (aos.yaml)");
    return std::nullopt;
  }
  HttpPlan plan;
  HttpRequest& h = plan.req;
  h.method = "POST";
  const std::string& base = it->second.base_url;
  h.url = base + (!base.empty() && base.back() == '/' ? "" : "/") + "embeddings";
  if (!it->second.api_key_env.empty()) {
    if (const char* key = std::getenv(it->second.api_key_env.c_str())) {
      h.headers.emplace_back("Authorization", std::string("Bearer ") + key);
    }
  }
  if (req.timeout_ms > 0) h.timeout_ms = static_cast<long>(req.timeout_ms);
  h.body = Value::MapOfUnique({{S("model"), S(it->second.model)}, {S("input"), S(Str(req.args.Find("text")))}}).ToJson();
  h.content_type = "application/json";
  const double in_price = it->second.input_per_mtok;
  const std::string currency = it->second.currency;
  plan.finish = [=](bool ok, HttpResponse& resp, HttpError& err) -> CallResult {
    if (!ok) return Fail(err.kind, err.message);
    if (resp.status >= 400) return Fail(StatusKind(resp.status), "embeddings answered " + std::to_string(resp.status));
    std::string perr;
    auto reply = ParseJson(resp.body, &perr);
    const Value* data = reply ? reply->Find("data") : nullptr;
    if (!data || data->kind() != ValueKind::kList || data->as_list().empty()) {
      return Fail("llm.schema", "embeddings reply without data");
    }
    const Value* e = data->as_list()[0].Find("embedding");
    CallResult r = Ok(e ? *e : Value::List({}));
    // Embeddings are priced per input token, like a prompt.
    const Value* pt = reply->Find("usage") ? reply->Find("usage")->Find("prompt_tokens") : nullptr;
    const int64_t in = pt && pt->kind() == ValueKind::kInt ? std::clamp<int64_t>(pt->as_int(), 0, 1'000'000'000) : 0;
    const double cost = static_cast<double>(in) * in_price / 1e6;
    r.usage = Value::MapOfUnique({{S("model"), S(model)},
                                  {S("tokens_in"), Value::Int(in)},
                                  {S("tokens_out"), Value::Int(0)},
                                  {S("cost"), Value::MoneyOf(Money{std::llround(cost * 1e9), currency})}});
    return r;
  };
  return plan;
}

namespace {

struct MailSource {
  std::string text;
  size_t pos = 0;
};

size_t ReadMail(char* buf, size_t size, size_t n, void* user) {
  auto* m = static_cast<MailSource*>(user);
  const size_t left = m->text.size() - m->pos;
  const size_t take = std::min(left, size * n);
  std::memcpy(buf, m->text.data() + m->pos, take);
  m->pos += take;
  return take;
}

bool HasNewline(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }


}  // namespace

// Addresses from a string ("a@x, b@y") or a list of strings; false when the
// value is neither, or an address holds a line break or angle brackets.
static bool Addresses(const Value* v, std::vector<std::string>* out) {
  if (!v || v->is_null()) return true;
  std::vector<std::string> raw;
  if (v->kind() == ValueKind::kString) {
    raw.push_back(v->as_string());
  } else if (v->kind() == ValueKind::kList) {
    for (const auto& x : v->as_list()) {
      if (x.kind() != ValueKind::kString) return false;
      raw.push_back(x.as_string());
    }
  } else {
    return false;
  }
  for (const auto& r : raw) {
    size_t start = 0;
    while (start <= r.size()) {
      size_t comma = r.find(',', start);
      if (comma == std::string::npos) comma = r.size();
      std::string a = r.substr(start, comma - start);
      a.erase(0, a.find_first_not_of(" \t"));
      a.erase(a.find_last_not_of(" \t") + 1);
      if (!a.empty()) {
        if (HasNewline(a) || a.find_first_of("<>") != std::string::npos) return false;
        out->push_back(a);
      }
      start = comma + 1;
    }
  }
  return true;
}

static std::string Crlf(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

static std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

CallResult StdCalls::Email(const CallRequest& req) {
  if (!config_.smtp) {
    return Fail("email.config", "email.send needs an SMTP server in the config (aos.yaml: smtp: {url, from})");
  }
  // The checker types these where it can (language table); values it could
  // not type are checked here, and nothing is sent that does not fit.
  std::vector<std::string> to, cc, bcc, reply_to;
  if (!Addresses(req.args.Find("to"), &to) || !Addresses(req.args.Find("cc"), &cc) ||
      !Addresses(req.args.Find("bcc"), &bcc) || !Addresses(req.args.Find("reply_to"), &reply_to)) {
    return Fail("email.invalid", "to, cc, bcc and reply_to are addresses: a string or a list of strings, "
                                 "without line breaks or angle brackets");
  }
  if (to.empty()) return Fail("email.invalid", "email.send needs at least one recipient in to");
  for (const char* f : {"subject", "body", "html"}) {
    const Value* v = req.args.Find(f);
    if (v && !v->is_null() && v->kind() != ValueKind::kString) {
      return Fail("email.invalid", std::string(f) + " must be a string, not " + KindName(v->kind()));
    }
  }
  const std::string subject = Str(req.args.Find("subject"));
  const std::string body = Str(req.args.Find("body"));
  const Value* html_v = req.args.Find("html");
  const std::string html = html_v && !html_v->is_null() ? html_v->as_string() : "";
  if (HasNewline(subject)) return Fail("email.invalid", "the subject holds a line break");
  const std::string message_id = "<" + Digest(req.idempotency_key.empty() ? req.instance : req.idempotency_key) +
                                 "." + Digest(Join(to)) + "@aos.local>";
  char date[64];
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  MailSource src;
  // Lines end in CRLF on the wire (RFC 5322), whatever the body used; a
  // subject that is not ASCII is encoded (RFC 2047). Bcc is an envelope
  // recipient only, never a header.
  std::string subject_header = subject;
  if (std::any_of(subject.begin(), subject.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; })) {
    subject_header = "=?UTF-8?B?" + Base64Encode(subject) + "?=";
  }
  std::string head = "Date: " + std::string(date) + "\r\nFrom: " + config_.smtp->from + "\r\nTo: " + Join(to) + "\r\n";
  if (!cc.empty()) head += "Cc: " + Join(cc) + "\r\n";
  if (!reply_to.empty()) head += "Reply-To: " + Join(reply_to) + "\r\n";
  head += "Subject: " + subject_header + "\r\nMessage-ID: " + message_id + "\r\nMIME-Version: 1.0\r\n";
  if (html.empty()) {
    src.text = head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
               Crlf(body) + "\r\n";
  } else {
    // The text and the HTML as alternatives; the boundary derives from the
    // message so the same effect always sends the same bytes.
    const std::string b = "aos-" + Digest(message_id + body + html);
    src.text = head + "Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n\r\n" + "--" + b +
               "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
               Crlf(body) + "\r\n--" + b +
               "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
               Crlf(html) + "\r\n--" + b + "--\r\n";
  }
  CURL* curl = curl_easy_init();
  if (!curl) return Fail("net", "cannot start libcurl");
  struct curl_slist* rcpt = nullptr;
  for (const auto* list : {&to, &cc, &bcc}) {
    for (const auto& a : *list) rcpt = curl_slist_append(rcpt, ("<" + a + ">").c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, config_.smtp->url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, ("<" + config_.smtp->from + ">").c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadMail);
  curl_easy_setopt(curl, CURLOPT_READDATA, &src);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req.timeout_ms > 0 ? static_cast<long>(req.timeout_ms) : 30000L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return Fail(rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "net",
                std::string("email.send to the SMTP server failed: ") + curl_easy_strerror(rc));
  }
  return Ok(Value::MapOfUnique({{S("message_id"), S(message_id)}}));
}

}  // namespace aos
