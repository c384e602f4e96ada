#include "stdlib/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string_view>

namespace aos {

namespace {

constexpr long kMaxRedirects = 10;

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using CurlList = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init is run exactly once, before the first handle; C++ makes
// the initialisation of a function-local static thread-safe.
bool CurlGlobalInit() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool HasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// The URL as it may appear in messages: no query, no fragment, no user info.

// Percent-encodes everything but the RFC 3986 unreserved characters.
std::string Escape(CURL* h, const std::string& s) {
  char* escaped = curl_easy_escape(h, s.data(), static_cast<int>(s.size()));
  if (escaped == nullptr) return std::string();
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

// `url` without its fragment, with `query` appended.
std::string BuildUrl(CURL* h, const HttpRequest& req) {
  std::string url = req.url.substr(0, req.url.find('#'));
  if (req.query.empty()) return url;
  if (url.find('?') == std::string::npos) {
    url += '?';
  } else if (url.back() != '?' && url.back() != '&') {
    url += '&';
  }
  bool first = true;
  for (const auto& [name, value] : req.query) {
    if (!first) url += '&';
    first = false;
    url += Escape(h, name);
    url += '=';
    url += Escape(h, value);
  }
  return url;
}

// State shared with the curl callbacks during one transfer.
struct Transfer {
  HttpResponse* resp;
  size_t max_body;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  Transfer* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (t->resp->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->resp->body.append(data, n);
  return n;
}

// Called once per header line, status lines and the blank line included.
size_t OnHeader(char* data, size_t size, size_t nitems, void* user) {
  Transfer* t = static_cast<Transfer*>(user);
  size_t n = size * nitems;
  std::string_view line(data, n);
  auto& headers = t->resp->headers;
  if (line.starts_with("HTTP/")) {
    headers.clear();  // a new response: a redirect hop, a 100 or a proxy CONNECT
    return n;
  }
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    // Obsolete line folding: the line continues the previous value.
    std::string_view more = Trim(line);
    if (!headers.empty() && !more.empty()) {
      headers.back().second += ' ';
      headers.back().second += more;
    }
    return n;
  }
  std::string_view::size_type colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // the blank line ending the headers
  headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                       std::string(Trim(line.substr(colon + 1))));
  return n;
}

bool Fail(HttpError* err, std::string kind, std::string message) {
  err->kind = std::move(kind);
  err->message = std::move(message);
  return false;
}

bool ValidMethod(const std::string& method) {
  return !method.empty() && std::all_of(method.begin(), method.end(), [](char c) {
    return c >= 'A' && c <= 'Z';
  });
}

bool HasHeader(const HttpRequest& req, std::string_view lower_name) {
  return std::any_of(req.headers.begin(), req.headers.end(),
                     [&](const auto& h) { return Lower(h.first) == lower_name; });
}

// curl's detail text for a failure, unless it might echo something secret.
std::string SafeDetail(const char* errbuf, const HttpRequest& req, const std::string& url) {
  std::string detail(errbuf);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  std::string::size_type q = url.find('?');
  if (q != std::string::npos && detail.find(url.substr(q + 1)) != std::string::npos) return "";
  for (const auto& [name, value] : req.headers) {
    if (!value.empty() && detail.find(value) != std::string::npos) return "";
  }
  if (!req.idempotency_key.empty() && detail.find(req.idempotency_key) != std::string::npos) {
    return "";
  }
  return detail;
}

}  // namespace

// One transfer: the easy handle set up for a request and the state its
// callbacks fill. PerformHttp runs it on the calling thread; HttpEngine
// (http_engine.h) runs many at once on one curl multi handle.
struct HttpTransfer::State {
  HttpRequest req;
  HttpResponse resp;
  std::string where;  // "METHOD url" for messages, without query or user info
  std::string url;
  char errbuf[CURL_ERROR_SIZE] = {0};
  Transfer transfer{nullptr, 0};
  CurlHandle handle;
  CurlList headers;
};

HttpTransfer::HttpTransfer() : s_(std::make_unique<State>()) {}
HttpTransfer::~HttpTransfer() = default;
void* HttpTransfer::handle() const { return s_->handle.get(); }

std::unique_ptr<HttpTransfer> HttpTransfer::Prepare(HttpRequest request, HttpError* err) {
  auto t = std::unique_ptr<HttpTransfer>(new HttpTransfer());
  State& st = *t->s_;
  st.req = std::move(request);
  const HttpRequest& req = st.req;
  st.where = req.method + " " + RedactUrl(req.url);
  const std::string& where = st.where;
  if (!CurlGlobalInit()) return Fail(err, "net", where + ": curl_global_init failed"), nullptr;
  if (!ValidMethod(req.method)) return Fail(err, "net", where + ": invalid HTTP method"), nullptr;
  for (const auto& [name, value] : req.headers) {
    if (name.empty() || HasLineBreak(name) || name.find(':') != std::string::npos ||
        HasLineBreak(value)) {
      Fail(err, "net", where + ": invalid request header '" +
                           (HasLineBreak(name) ? std::string("?") : name) + "'");
      return nullptr;
    }
  }
  if (HasLineBreak(req.content_type) || HasLineBreak(req.idempotency_key)) {
    Fail(err, "net", where + ": line break in Content-Type or Idempotency-Key");
    return nullptr;
  }

  st.handle.reset(curl_easy_init());
  if (!st.handle) return Fail(err, "net", where + ": curl_easy_init failed (" +
                                              std::string(curl_easy_strerror(CURLE_FAILED_INIT)) + ")"),
                  nullptr;
  CURL* h = st.handle.get();

  st.url = BuildUrl(h, req);
  st.transfer = Transfer{&st.resp, req.max_response_bytes};

  curl_easy_setopt(h, CURLOPT_URL, st.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, st.errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req.connect_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  if (req.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, kMaxRedirects);
  }
  curl_easy_setopt(h, CURLOPT_USERAGENT, "aos");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st.transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &st.transfer);
  // Fails early when Content-Length already says too much; OnBody catches
  // chunked and undeclared lengths.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(req.max_response_bytes));

  const bool has_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                        (req.method == "DELETE" && !req.body.empty());
  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (has_body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    }
  }

  CurlList& headers = st.headers;
  auto add = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      headers.release();
      headers.reset(next);
    }
    return next != nullptr;
  };
  bool added = true;
  for (const auto& [name, value] : req.headers) {
    // "Name;" is curl's spelling of a header sent with an empty value.
    added &= add(value.empty() ? name + ";" : name + ": " + value);
  }
  if (!req.content_type.empty()) {
    added &= add("Content-Type: " + req.content_type);
  } else if (has_body && !HasHeader(req, "content-type")) {
    added &= add("Content-Type:");  // drops curl's form-urlencoded default
  }
  if (!req.idempotency_key.empty()) added &= add("Idempotency-Key: " + req.idempotency_key);
  if (has_body && !HasHeader(req, "expect")) {
    added &= add("Expect:");  // no 100-continue round trip for large bodies
  }
  if (!added) return Fail(err, "net", where + ": out of memory building headers"), nullptr;
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  return t;
}

bool HttpTransfer::Finish(int curl_code, HttpResponse* resp, HttpError* err) {
  State& st = *s_;
  const CURLcode code = static_cast<CURLcode>(curl_code);
  if (st.transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    *resp = HttpResponse();
    return Fail(err, "net", st.where + ": response body exceeds the limit of " +
                                std::to_string(st.req.max_response_bytes) + " bytes");
  }
  if (code != CURLE_OK) {
    *resp = HttpResponse();
    std::string message = st.where + ": " + curl_easy_strerror(code);
    std::string detail = SafeDetail(st.errbuf, st.req, st.url);
    if (!detail.empty()) message += " (" + detail + ")";
    return Fail(err, code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "net", std::move(message));
  }
  curl_easy_getinfo(st.handle.get(), CURLINFO_RESPONSE_CODE, &st.resp.status);
  *resp = std::move(st.resp);
  return true;
}

bool PerformHttp(const HttpRequest& req, HttpResponse* resp, HttpError* err) {
  *resp = HttpResponse();
  auto t = HttpTransfer::Prepare(req, err);
  if (!t) return false;
  const CURLcode code = curl_easy_perform(static_cast<CURL*>(t->handle()));
  return t->Finish(code, resp, err);
}

std::string RedactUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  std::string_view::size_type scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::string_view::size_type host_begin = scheme_end + 3;
  std::string_view::size_type authority_end = url.find('/', host_begin);
  std::string_view authority = url.substr(host_begin, authority_end == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : authority_end - host_begin);
  std::string_view::size_type at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, host_begin));
  out.append(url.substr(host_begin + at + 1));
  return out;
}

std::string HttpErrorKind(long status) {
  if (status >= 200 && status < 400) return "";
  if (status == 429) return "http.429";
  if (status >= 400 && status < 500) return "http.4xx";
  return "http.5xx";
}

namespace {

// Reads an HTTP-date field by field; every method consumes only on success.
class DateScanner {
 public:
  explicit DateScanner(std::string_view s) : s_(s) {}

  bool AtEnd() const { return pos_ == s_.size(); }

  bool Char(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool Spaces() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
    return pos_ > start;
  }

  // Between min and max decimal digits.
  bool Digits(size_t min, size_t max, int* out) {
    size_t start = pos_;
    int value = 0;
    while (pos_ < s_.size() && pos_ - start < max && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      value = value * 10 + (s_[pos_] - '0');
      ++pos_;
    }
    if (pos_ - start < min) {
      pos_ = start;
      return false;
    }
    *out = value;
    return true;
  }

  bool Word(std::string_view* out) {
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ == start) return false;
    *out = s_.substr(start, pos_ - start);
    return true;
  }

  // "Jan".."Dec", case-insensitively; 1..12.
  bool Month(int* month) {
    static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
    size_t start = pos_;
    std::string_view word;
    if (!Word(&word)) return false;
    std::string lower = Lower(word);
    for (int i = 0; i < 12; ++i) {
      if (lower == kMonths[i]) {
        *month = i + 1;
        return true;
      }
    }
    pos_ = start;
    return false;
  }

  bool Time(int* h, int* m, int* s) {
    return Digits(2, 2, h) && Char(':') && Digits(2, 2, m) && Char(':') && Digits(2, 2, s) &&
           *h < 24 && *m < 60 && *s <= 60;
  }

  bool Gmt() {
    std::string_view zone;
    return Word(&zone) && (zone == "GMT" || zone == "UTC");
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

struct DateTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool ParseImfFixdate(std::string_view s, DateTime* t) {
  DateScanner in(s);
  std::string_view weekday;
  return in.Word(&weekday) && in.Char(',') && in.Spaces() && in.Digits(1, 2, &t->day) &&
         in.Spaces() && in.Month(&t->month) && in.Spaces() && in.Digits(4, 4, &t->year) &&
         in.Spaces() && in.Time(&t->hour, &t->minute, &t->second) && in.Spaces() && in.Gmt() &&
         in.AtEnd();
}

// "Sunday, 06-Nov-94 08:49:37 GMT"; the two-digit year as RFC 9110 says: a
// year more than 50 years in the future is the latest past year with those
// digits.
bool ParseRfc850(std::string_view s, int now_year, DateTime* t) {
  DateScanner in(s);
  std::string_view weekday;
  int yy = 0;
  if (!(in.Word(&weekday) && in.Char(',') && in.Spaces() && in.Digits(2, 2, &t->day) &&
        in.Char('-') && in.Month(&t->month) && in.Char('-') && in.Digits(2, 2, &yy) &&
        in.Spaces() && in.Time(&t->hour, &t->minute, &t->second) && in.Spaces() && in.Gmt() &&
        in.AtEnd())) {
    return false;
  }
  t->year = now_year - now_year % 100 + yy;
  if (t->year > now_year + 50) t->year -= 100;
  return true;
}

// "Sun Nov  6 08:49:37 1994"
bool ParseAsctime(std::string_view s, DateTime* t) {
  DateScanner in(s);
  std::string_view weekday;
  return in.Word(&weekday) && in.Spaces() && in.Month(&t->month) && in.Spaces() &&
         in.Digits(1, 2, &t->day) && in.Spaces() &&
         in.Time(&t->hour, &t->minute, &t->second) && in.Spaces() &&
         in.Digits(4, 4, &t->year) && in.AtEnd();
}

}  // namespace

long long ParseRetryAfterMs(const std::string& value, long long now_unix_seconds) {
  // A delay beyond this many seconds (about 300 years) is clamped to it.
  constexpr long long kMaxSeconds = 10'000'000'000LL;
  std::string_view v = Trim(value);
  if (v.empty()) return -1;

  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long seconds = 0;
    for (char c : v) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxSeconds) return kMaxSeconds * 1000;
    }
    return seconds * 1000;
  }

  namespace chrono = std::chrono;
  const chrono::sys_days today =
      chrono::floor<chrono::days>(chrono::sys_seconds(chrono::seconds(now_unix_seconds)));
  const int now_year = static_cast<int>(chrono::year_month_day(today).year());

  DateTime t;
  if (!ParseImfFixdate(v, &t) && !ParseRfc850(v, now_year, &t) && !ParseAsctime(v, &t)) {
    return -1;
  }
  const chrono::year_month_day date(chrono::year(t.year), chrono::month(t.month),
                                    chrono::day(t.day));
  if (!date.ok()) return -1;
  const long long when = chrono::sys_days(date).time_since_epoch().count() * 86400LL +
                         t.hour * 3600LL + t.minute * 60LL + t.second;
  const long long delay = when - now_unix_seconds;
  if (delay <= 0) return 0;
  return std::min(delay, kMaxSeconds) * 1000;
}

}  // namespace aos
