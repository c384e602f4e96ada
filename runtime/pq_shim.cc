// pq_shim: see pq_shim.h. The definitions below take their signatures from
// <libpq-fe.h>, so a mismatch with the real library's does not compile.
#include "runtime/pq_shim.h"

#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

// Each function the store and its tests call: result, name, parameters,
// arguments.
#define AOS_LIBPQ_FUNCTIONS(X)                                                                                   \
  X(PGconn*, PQconnectdb, (const char* conninfo), (conninfo))                                                    \
  X(PGconn*, PQconnectdbParams, (const char* const* keywords, const char* const* values, int expand_dbname),    \
    (keywords, values, expand_dbname))                                                                           \
  X(ConnStatusType, PQstatus, (const PGconn* conn), (conn))                                                      \
  X(char*, PQerrorMessage, (const PGconn* conn), (conn))                                                         \
  X(void, PQfinish, (PGconn * conn), (conn))                                                                     \
  X(void, PQreset, (PGconn * conn), (conn))                                                                      \
  X(int, PQsocket, (const PGconn* conn), (conn))                                                                 \
  X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void* arg),                 \
    (conn, proc, arg))                                                                                           \
  X(PGresult*, PQexec, (PGconn * conn, const char* query), (conn, query))                                        \
  X(PGresult*, PQexecParams,                                                                                     \
    (PGconn * conn, const char* command, int nParams, const Oid* paramTypes, const char* const* paramValues,      \
     const int* paramLengths, const int* paramFormats, int resultFormat),                                        \
    (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))                  \
  X(PGresult*, PQprepare, (PGconn * conn, const char* stmtName, const char* query, int nParams, const Oid* paramTypes), \
    (conn, stmtName, query, nParams, paramTypes))                                                                \
  X(PGresult*, PQexecPrepared,                                                                                   \
    (PGconn * conn, const char* stmtName, int nParams, const char* const* paramValues, const int* paramLengths,   \
     const int* paramFormats, int resultFormat),                                                                 \
    (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))                             \
  X(int, PQsendQueryParams,                                                                                      \
    (PGconn * conn, const char* command, int nParams, const Oid* paramTypes, const char* const* paramValues,      \
     const int* paramLengths, const int* paramFormats, int resultFormat),                                        \
    (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))                  \
  X(int, PQsendQueryPrepared,                                                                                    \
    (PGconn * conn, const char* stmtName, int nParams, const char* const* paramValues, const int* paramLengths,   \
     const int* paramFormats, int resultFormat),                                                                 \
    (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))                             \
  X(PGresult*, PQgetResult, (PGconn * conn), (conn))                                                             \
  X(int, PQenterPipelineMode, (PGconn * conn), (conn))                                                           \
  X(int, PQexitPipelineMode, (PGconn * conn), (conn))                                                            \
  X(int, PQpipelineSync, (PGconn * conn), (conn))                                                                \
  X(int, PQconsumeInput, (PGconn * conn), (conn))                                                                \
  X(PGnotify*, PQnotifies, (PGconn * conn), (conn))                                                              \
  X(void, PQfreemem, (void* ptr), (ptr))                                                                         \
  X(ExecStatusType, PQresultStatus, (const PGresult* res), (res))                                                \
  X(char*, PQresultErrorMessage, (const PGresult* res), (res))                                                   \
  X(char*, PQresultErrorField, (const PGresult* res, int fieldcode), (res, fieldcode))                           \
  X(int, PQntuples, (const PGresult* res), (res))                                                                \
  X(char*, PQgetvalue, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))             \
  X(int, PQgetlength, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))              \
  X(int, PQgetisnull, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))              \
  X(char*, PQcmdTuples, (PGresult * res), (res))                                                                 \
  X(void, PQclear, (PGresult * res), (res))

namespace {

struct Libpq {
#define AOS_LIBPQ_POINTER(R, name, params, args) R(*name) params = nullptr;
  AOS_LIBPQ_FUNCTIONS(AOS_LIBPQ_POINTER)
#undef AOS_LIBPQ_POINTER
  std::string problem;  // empty once every function is bound
};

const Libpq& Lib() {
  static Libpq l;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      l.problem = std::string("the PostgreSQL client library (libpq.so.5, Debian package libpq5) could not be loaded") +
                  (why ? ": " + std::string(why) : "");
      return;
    }
#define AOS_LIBPQ_BIND(R, name, params, args)                                                          \
  l.name = reinterpret_cast<R(*) params>(dlsym(lib, #name));                                          \
  if (!l.name && l.problem.empty()) l.problem = "libpq.so.5 has no " #name " (libpq 14 or newer is needed)";
    AOS_LIBPQ_FUNCTIONS(AOS_LIBPQ_BIND)
#undef AOS_LIBPQ_BIND
  });
  return l;
}

// Only PQconnectdb(Params) can be reached without the library (a connection or a
// result is needed for the others), and PgStore::Open asks LibpqProblem
// before it; the rest stop here rather than jump through a null pointer.
const Libpq& Bound() {
  const Libpq& l = Lib();
  if (!l.problem.empty()) {
    std::fprintf(stderr, "aos: %s\n", l.problem.c_str());
    std::abort();
  }
  return l;
}

}  // namespace

namespace aos {

std::string LibpqProblem() { return Lib().problem; }

}  // namespace aos

extern "C" {

#define AOS_LIBPQ_FORWARD(R, name, params, args) \
  R name params { return Bound().name args; }
AOS_LIBPQ_FUNCTIONS(AOS_LIBPQ_FORWARD)
#undef AOS_LIBPQ_FORWARD

}  // extern "C"
