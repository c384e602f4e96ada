// curl_shim: libcurl, loaded when the first call needs it.
//
// aosrun is started for every approve, status and resume, and most of those
// never make an HTTP or SMTP call; linking libcurl directly costs each start
// about 6 ms (it pulls in some thirty libraries: TLS, Kerberos, LDAP, ...).
// These definitions of the libcurl functions the stdlib uses forward to the
// real ones, found with dlopen("libcurl.so.4") on first use. Signatures come
// from <curl/curl.h>, so a mismatch does not compile. When libcurl cannot be
// loaded, curl_easy_init returns null and curl_global_init fails, which the
// callers report as a `net` error naming the library.
// The type-checking macros would rename the definitions below.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <mutex>

namespace {

struct Curl {
  void* lib = nullptr;
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  char* (*easy_escape)(CURL*, const char*, int) = nullptr;
  void (*free_)(void*) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  CURLM* (*multi_init)() = nullptr;
  CURLMcode (*multi_cleanup)(CURLM*) = nullptr;
  CURLMcode (*multi_add_handle)(CURLM*, CURL*) = nullptr;
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*) = nullptr;
  CURLMcode (*multi_perform)(CURLM*, int*) = nullptr;
  CURLMsg* (*multi_info_read)(CURLM*, int*) = nullptr;
  CURLMcode (*multi_poll)(CURLM*, curl_waitfd*, unsigned int, int, int*) = nullptr;
  CURLMcode (*multi_wakeup)(CURLM*) = nullptr;
  bool ok = false;
};

template <typename F>
bool Bind(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

const Curl& Lib() {
  static Curl c;
  static std::once_flag once;
  std::call_once(once, [] {
    c.lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!c.lib) return;
    c.ok = Bind(c.lib, "curl_global_init", &c.global_init) && Bind(c.lib, "curl_easy_init", &c.easy_init) &&
           Bind(c.lib, "curl_easy_setopt", &c.easy_setopt) &&
           Bind(c.lib, "curl_easy_perform", &c.easy_perform) &&
           Bind(c.lib, "curl_easy_cleanup", &c.easy_cleanup) &&
           Bind(c.lib, "curl_easy_getinfo", &c.easy_getinfo) &&
           Bind(c.lib, "curl_easy_strerror", &c.easy_strerror) &&
           Bind(c.lib, "curl_easy_escape", &c.easy_escape) && Bind(c.lib, "curl_free", &c.free_) &&
           Bind(c.lib, "curl_slist_append", &c.slist_append) &&
           Bind(c.lib, "curl_slist_free_all", &c.slist_free_all) &&
           Bind(c.lib, "curl_multi_init", &c.multi_init) && Bind(c.lib, "curl_multi_cleanup", &c.multi_cleanup) &&
           Bind(c.lib, "curl_multi_add_handle", &c.multi_add_handle) &&
           Bind(c.lib, "curl_multi_remove_handle", &c.multi_remove_handle) &&
           Bind(c.lib, "curl_multi_perform", &c.multi_perform) &&
           Bind(c.lib, "curl_multi_info_read", &c.multi_info_read) &&
           Bind(c.lib, "curl_multi_poll", &c.multi_poll) && Bind(c.lib, "curl_multi_wakeup", &c.multi_wakeup);
  });
  return c;
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
  const Curl& c = Lib();
  return c.ok ? c.global_init(flags) : CURLE_FAILED_INIT;
}

CURL* curl_easy_init(void) {
  const Curl& c = Lib();
  return c.ok ? c.easy_init() : nullptr;
}

// The third argument's type is given by the option's range, as libcurl
// itself reads it: long, object pointer, function pointer, curl_off_t, blob.
CURLcode curl_easy_setopt(CURL* handle, CURLoption option, ...) {
  const Curl& c = Lib();
  if (!c.ok) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = c.easy_setopt(handle, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = c.easy_setopt(handle, option, va_arg(ap, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    rc = c.easy_setopt(handle, option, va_arg(ap, void (*)()));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = c.easy_setopt(handle, option, va_arg(ap, curl_off_t));
  } else {
    rc = c.easy_setopt(handle, option, va_arg(ap, void*));
  }
  va_end(ap);
  return rc;
}

CURLcode curl_easy_perform(CURL* handle) {
  const Curl& c = Lib();
  return c.ok ? c.easy_perform(handle) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL* handle) {
  const Curl& c = Lib();
  if (c.ok) c.easy_cleanup(handle);
}

// Every CURLINFO takes a pointer to where the answer goes.
CURLcode curl_easy_getinfo(CURL* handle, CURLINFO info, ...) {
  const Curl& c = Lib();
  if (!c.ok) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return c.easy_getinfo(handle, info, out);
}

const char* curl_easy_strerror(CURLcode code) {
  const Curl& c = Lib();
  return c.ok ? c.easy_strerror(code) : "libcurl (libcurl.so.4) could not be loaded";
}

char* curl_easy_escape(CURL* handle, const char* s, int length) {
  const Curl& c = Lib();
  return c.ok ? c.easy_escape(handle, s, length) : nullptr;
}

void curl_free(void* p) {
  const Curl& c = Lib();
  if (c.ok) c.free_(p);
}

curl_slist* curl_slist_append(curl_slist* list, const char* s) {
  const Curl& c = Lib();
  return c.ok ? c.slist_append(list, s) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  const Curl& c = Lib();
  if (c.ok) c.slist_free_all(list);
}

CURLM* curl_multi_init(void) {
  const Curl& c = Lib();
  return c.ok ? c.multi_init() : nullptr;
}

CURLMcode curl_multi_cleanup(CURLM* m) {
  const Curl& c = Lib();
  return c.ok ? c.multi_cleanup(m) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_add_handle(CURLM* m, CURL* h) {
  const Curl& c = Lib();
  return c.ok ? c.multi_add_handle(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM* m, CURL* h) {
  const Curl& c = Lib();
  return c.ok ? c.multi_remove_handle(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM* m, int* running) {
  const Curl& c = Lib();
  return c.ok ? c.multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}

CURLMsg* curl_multi_info_read(CURLM* m, int* queued) {
  const Curl& c = Lib();
  return c.ok ? c.multi_info_read(m, queued) : nullptr;
}

CURLMcode curl_multi_poll(CURLM* m, curl_waitfd* fds, unsigned int n, int timeout_ms, int* ret) {
  const Curl& c = Lib();
  return c.ok ? c.multi_poll(m, fds, n, timeout_ms, ret) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_wakeup(CURLM* m) {
  const Curl& c = Lib();
  return c.ok ? c.multi_wakeup(m) : CURLM_INTERNAL_ERROR;
}

}  // extern "C"
