#include "runtime/pg_store.h"

#include <libpq-fe.h>

#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <vector>

#include "runtime/codec.h"
#include "runtime/pq_shim.h"

namespace aos {

namespace {

constexpr int kScanChunk = 256;  // rows a scan reads per query
constexpr int kPipelineChunk = 256;  // statements a batch sends before reading their results

std::string Table(Column c) { return std::string("aos_") + ColumnName(c); }
int Index(Column c) { return static_cast<int>(c); }

// The key just above every key that begins with `prefix`; "" when none is
// (the prefix is empty or all 0xff).
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// A PGresult freed on scope exit.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() {
    if (r_) PQclear(r_);
  }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  PGresult* get() const { return r_; }
  ExecStatusType status() const { return r_ ? PQresultStatus(r_) : PGRES_FATAL_ERROR; }
  bool ok() const { return status() == PGRES_COMMAND_OK || status() == PGRES_TUPLES_OK; }
  int rows() const { return PQntuples(r_); }
  std::string_view bytes(int row, int col) const {
    return std::string_view(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
  }

 private:
  PGresult* r_;
};

// One transaction sent in libpq's pipeline mode: statements are queued,
// their results read in chunks (Drain); the first error and its SQLSTATE
// are kept, and the first value of chosen statements captured.
class Pipeline {
 public:
  explicit Pipeline(PGconn* conn) : conn_(conn) {}
  bool Enter() { return PQenterPipelineMode(conn_) == 1; }
  bool Exit() { return PQexitPipelineMode(conn_) == 1; }
  void Text(const char* sql) { Sent(error_.empty() && PQsendQueryParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0)); }
  // Text parameters, text results.
  void Params(const char* sql, std::initializer_list<const char*> values) {
    std::vector<const char*> v(values);
    Sent(error_.empty() &&
         PQsendQueryParams(conn_, sql, static_cast<int>(v.size()), nullptr, v.data(), nullptr, nullptr, 0));
  }
  // A prepared statement with binary parameters and results.
  void Prepared(const std::string& name, int n, const char* const* values, const int* lengths) {
    const int formats[2] = {1, 1};
    Sent(error_.empty() && PQsendQueryPrepared(conn_, name.c_str(), n, values, lengths, formats, 1));
  }
  // The next statement sent writes its first value to *out.
  void CaptureNext(std::string* out) { captures_[sent_] = out; }
  void Drain() {
    if (!PQpipelineSync(conn_) && error_.empty()) error_ = PQerrorMessage(conn_);
    for (; pending_ > 0; --pending_) {
      const int64_t at = got_++;
      while (PGresult* r = PQgetResult(conn_)) {
        const ExecStatusType s = PQresultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && error_.empty()) {
          error_ = s == PGRES_PIPELINE_ABORTED ? "aborted" : PQresultErrorMessage(r);
          if (const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE)) sqlstate_ = code;
        }
        if (auto c = captures_.find(at); c != captures_.end() && s == PGRES_TUPLES_OK && PQntuples(r) > 0) {
          *c->second = PQgetvalue(r, 0, 0);
        }
        PQclear(r);
      }
    }
    Result sync_point(PQgetResult(conn_));  // PGRES_PIPELINE_SYNC
  }
  int pending() const { return pending_; }
  const std::string& error() const { return error_; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  void Sent(bool ok) {
    if (ok) {
      ++pending_;
      ++sent_;
    } else if (error_.empty()) {
      error_ = PQerrorMessage(conn_);
    }
  }
  PGconn* conn_;
  int pending_ = 0;
  int64_t sent_ = 0, got_ = 0;
  std::map<int64_t, std::string*> captures_;
  std::string error_, sqlstate_;
};

void Quiet(void*, const char*) {}  // NOTICEs ("relation already exists") are not errors

// libpq's message without its trailing newline.
std::string Trimmed(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// A connection to `url` (a URL or a key=value string). Without a
// connect_timeout of the URL's own or $PGCONNECT_TIMEOUT, it gives up after
// kConnectTimeout seconds: libpq's default is to wait, and a host that drops
// packets held a worker's start (and its SIGTERM) for the kernel's TCP
// timeout, minutes. Entries before the expanded URL give way to its own.
constexpr const char* kConnectTimeout = "10";
PGconn* Connect(const std::string& url) {
  const char* env = std::getenv("PGCONNECT_TIMEOUT");
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {env && *env ? "" : kConnectTimeout, url.c_str(), nullptr};
  return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

}  // namespace

bool IsPgUrl(const std::string& where) {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

std::string RedactedUrl(const std::string& url) {
  std::string out = url;
  // user:PASSWORD@host
  const size_t scheme = out.find("://");
  const size_t at = scheme == std::string::npos ? std::string::npos : out.find('@', scheme + 3);
  const size_t colon = at == std::string::npos ? std::string::npos : out.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at) out = out.substr(0, colon + 1) + "***" + out.substr(at);
  // ?password=PASSWORD&...
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
    const size_t end = out.find('&', p);
    out = out.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

// What each schema version adds, in order: version N's statements take a
// database at N-1 to N.
const char* const kSchemaSteps[] = {
    nullptr,  // v1: the column tables (made in Schema, one per Column)
    // v2: leases, and the fence every leased append runs in its transaction.
    // FOR SHARE keeps the lease row until the append commits, so a takeover
    // (an UPDATE of the row) waits for it, and every append after the
    // takeover fails.
    "CREATE TABLE IF NOT EXISTS aos_leases (run_id text PRIMARY KEY, owner text NOT NULL,"
    " epoch bigint NOT NULL, lease_until timestamptz NOT NULL);"
    " CREATE OR REPLACE FUNCTION aos_fence(r text, o text, e bigint) RETURNS void AS $$"
    " BEGIN"
    "   PERFORM 1 FROM aos_leases WHERE run_id = r AND owner = o AND epoch = e FOR SHARE;"
    "   IF NOT FOUND THEN RAISE EXCEPTION 'the lease of run % (epoch %) was taken over', r, e"
    "     USING ERRCODE = 'AOS01'; END IF;"
    " END $$ LANGUAGE plpgsql;",
    // v3: a lease claimed inside a batch's transaction (a new run's first
    // batch), failing the transaction when another worker holds the run.
    "CREATE OR REPLACE FUNCTION aos_claim(r text, o text, ms bigint) RETURNS bigint AS $$"
    " DECLARE e bigint;"
    " BEGIN"
    "   INSERT INTO aos_leases (run_id, owner, epoch, lease_until)"
    "     VALUES (r, o, 1, clock_timestamp() + ms * interval '1 millisecond')"
    "     ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, epoch = aos_leases.epoch + 1,"
    "       lease_until = EXCLUDED.lease_until"
    "     WHERE aos_leases.lease_until < clock_timestamp() OR aos_leases.owner = EXCLUDED.owner"
    "     RETURNING epoch INTO e;"
    "   IF e IS NULL THEN RAISE EXCEPTION 'run % is held by another worker', r USING ERRCODE = 'AOS01'; END IF;"
    // Another worker's first batch committed and gave the lease up at once
    // (the run ended or waits): the run is theirs; the index says so.
    "   IF EXISTS (SELECT 1 FROM aos_runs WHERE k = convert_to(r, 'UTF8')) THEN"
    "     RAISE EXCEPTION 'run % was started by another worker', r USING ERRCODE = 'AOS01'; END IF;"
    "   RETURN e;"
    " END $$ LANGUAGE plpgsql;",
};

std::string RandomOwner() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  char tail[17];
  std::snprintf(tail, sizeof tail, "%08x%08x", rd(), rd());
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + tail;
}

struct PgStore::Impl {
  PGconn* conn = nullptr;
  std::string where;  // the redacted URL, for messages
  std::string owner = RandomOwner();
  PGconn* lease_conn = nullptr;  // claims, renewals, releases (lease_mu)
  std::string url;                // to open lock_conn on first use
  PGconn* lock_conn = nullptr;    // the entity writers' advisory lock (lock_mu)
  std::mutex lock_mu;
  PGconn* listen_conn = nullptr;  // LISTEN aos_due (WaitForDue, one thread)
  std::mutex lease_mu;
  std::mutex map_mu;  // leases and lost: read by Write, changed by the lease calls
  std::map<std::string, int64_t> leases;  // run -> epoch, held by this store
  // Runs whose lease this store held and lost (renewal or a claim found it
  // taken over): every append to them is refused until ReleaseRun, or a new
  // claim, however the thread appending learns of it.
  std::set<std::string> lost;
  // Runs claimed with their first batch (ClaimNewRun), not written yet.
  std::set<std::string> first_claims;
  // Runs whose lease a batch being written gives up (release_run): a
  // renewal that misses their row meanwhile has not lost them.
  std::set<std::string> releasing;
  void Lose(const std::string& run) {
    leases.erase(run);
    lost.insert(run);
  }

  ~Impl() {
    if (conn) PQfinish(conn);
    if (lease_conn) PQfinish(lease_conn);
    if (lock_conn) PQfinish(lock_conn);
    if (listen_conn) PQfinish(listen_conn);
  }

  // Leases go over a connection of their own, so that a renewal never waits
  // behind a long scan on the main one (a lease that runs out while its
  // worker lives would hand its runs to another). Caller holds lease_mu.
  Result LeaseExec(const char* sql, int n, const char* const* values, const std::string& what) {
    Result r(PQexecParams(lease_conn, sql, n, nullptr, values, nullptr, nullptr, 0));
    if (!r.ok()) {
      const std::string m = Trimmed(r.get() ? PQresultErrorMessage(r.get()) : PQerrorMessage(lease_conn));
      if (PQstatus(lease_conn) == CONNECTION_BAD) {
        PQreset(lease_conn);
        UnsyncedLeases();
      }
      throw StoreError("postgresql store " + where + ": " + what + ": " + m);
    }
    return r;
  }


  // Lease statements commit without waiting for the WAL flush: a lease lost
  // with a server crash only ends its holder's work (the fence finds no
  // row), and a claim that waited for a flush would cost a disk write per run.
  void UnsyncedLeases() {
    Result r(PQexec(lease_conn, "SET synchronous_commit TO off"));
  }

  [[noreturn]] void Fail(const std::string& what, const char* detail = nullptr) {
    const std::string m = Trimmed(detail ? detail : PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_BAD) Reset();  // the next call finds a working connection, if the server is back
    throw StoreError("postgresql store " + where + ": " + what + ": " + m);
  }

  // Connects again (the server restarted, failed over, or the connection
  // was left in a state no call can use); prepared statements go with the
  // old session, so they are made again. Quiet: the caller throws.
  void Reset() {
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) return;
    PQsetNoticeProcessor(conn, Quiet, nullptr);
    try {
      PrepareAll();
    } catch (const StoreError&) {
    }
  }

  Result Exec(const std::string& sql, const char* what) {
    Result r(PQexec(conn, sql.c_str()));
    if (!r.ok()) Fail(what, r.get() ? PQresultErrorMessage(r.get()) : nullptr);
    return r;
  }

  // A prepared statement with binary parameters and results.
  Result Run(const std::string& name, std::initializer_list<std::string_view> params, const char* what) {
    std::array<const char*, 3> values{};
    std::array<int, 3> lengths{}, formats{1, 1, 1};
    int n = 0;
    for (std::string_view p : params) {
      values[n] = p.data();
      lengths[n] = static_cast<int>(p.size());
      ++n;
    }
    Result r(PQexecPrepared(conn, name.c_str(), n, values.data(), lengths.data(), formats.data(), 1));
    if (!r.ok()) Fail(what, r.get() ? PQresultErrorMessage(r.get()) : nullptr);
    return r;
  }

  void Prepare(const std::string& name, const std::string& sql, int params) {
    Result r(PQprepare(conn, name.c_str(), sql.c_str(), params, nullptr));
    if (!r.ok()) Fail("cannot prepare " + name, r.get() ? PQresultErrorMessage(r.get()) : nullptr);
  }

  // The session: unsynced commits by default (a synced batch sets it on for
  // its own transaction), and the statements prepared.
  void PrepareAll() {
    Exec("SET synchronous_commit TO off", "cannot set the session up");
    for (int i = 0; i < kColumnCount; ++i) {
      const std::string t = Table(static_cast<Column>(i)), n = std::to_string(i);
      Prepare("g" + n, "SELECT v FROM " + t + " WHERE k = $1", 1);
      // Events are appended, never replaced: a second write of one sequence
      // number (two writers of a run) fails its whole batch.
      Prepare("p" + n, "INSERT INTO " + t + " (k, v) VALUES ($1, $2)" +
                           (static_cast<Column>(i) == Column::kEvents ? std::string()
                                                                      : " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"),
              2);
      Prepare("d" + n, "DELETE FROM " + t + " WHERE k = $1", 1);
      // CompareAndSet: each one statement, so atomic against every worker's.
      Prepare("i" + n, "INSERT INTO " + t + " (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING", 2);
      Prepare("c" + n, "UPDATE " + t + " SET v = $3 WHERE k = $1 AND v = $2", 3);
      Prepare("s" + n, "SELECT k, v FROM " + t + " WHERE k >= $1 AND k < $2 ORDER BY k LIMIT " + std::to_string(kScanChunk), 2);
      Prepare("S" + n, "SELECT k, v FROM " + t + " WHERE k >= $1 ORDER BY k LIMIT " + std::to_string(kScanChunk), 1);
      Prepare("l" + n, "SELECT k FROM " + t + " WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT 1", 2);
      Prepare("L" + n, "SELECT k FROM " + t + " WHERE k >= $1 ORDER BY k DESC LIMIT 1", 1);
    }
  }

  // Makes the tables (one creator at a time: a transaction-scoped advisory
  // lock), or checks the version of those there.
  void Schema(bool create) {
    Result has = Exec("SELECT to_regclass('aos_schema') IS NOT NULL", "cannot read the schema");
    if (std::string_view(PQgetvalue(has.get(), 0, 0)) != "t") {
      if (!create) {
        throw StoreError("postgresql store " + where +
                         " holds no AOS tables (aosrun migrate-store --store URL makes them)");
      }
      std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(7306001);"
                        " CREATE TABLE IF NOT EXISTS aos_schema (version integer NOT NULL);";
      for (int i = 0; i < kColumnCount; ++i) {
        sql += " CREATE TABLE IF NOT EXISTS " + Table(static_cast<Column>(i)) +
               " (k bytea PRIMARY KEY, v bytea NOT NULL);";
      }
      sql += " INSERT INTO aos_schema SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM aos_schema); COMMIT;";
      Exec(sql, "cannot make the AOS tables");
    }
    int version = Version();
    if (version > kPgSchemaVersion) {
      throw StoreError("postgresql store " + where + " has AOS schema v" + std::to_string(version) +
                       ", newer than this aosrun's v" + std::to_string(kPgSchemaVersion) + ": use a newer aosrun");
    }
    if (version < 1) throw StoreError("postgresql store " + where + ": aos_schema holds no version");
    if (version < kPgSchemaVersion && !create) {
      throw StoreError("postgresql store " + where + " has AOS schema v" + std::to_string(version) +
                       ", older than this aosrun's v" + std::to_string(kPgSchemaVersion) +
                       ": aosrun migrate-store --store URL upgrades it");
    }
    // Upgrades, each version in its own transaction, one upgrader at a time
    // (the version is read again under the lock).
    while (version < kPgSchemaVersion) {
      Exec("BEGIN; SELECT pg_advisory_xact_lock(7306001);", "cannot upgrade the schema");
      const int now = Version();
      if (now == version) {
        Exec(std::string(kSchemaSteps[version]) + " UPDATE aos_schema SET version = " + std::to_string(version + 1) +
                 ";",
             "cannot upgrade the schema");
      }
      Exec("COMMIT", "cannot upgrade the schema");
      version = Version();
    }
  }

  int Version() {
    Result v = Exec("SELECT max(version) FROM aos_schema", "cannot read the schema version");
    return PQgetisnull(v.get(), 0, 0) ? 0 : std::atoi(PQgetvalue(v.get(), 0, 0));
  }
};

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgStore::~PgStore() = default;

std::unique_ptr<PgStore> PgStore::Open(const std::string& url, bool create) {
  auto impl = std::make_unique<Impl>();
  impl->where = RedactedUrl(url);
  impl->url = url;
  if (std::string why = LibpqProblem(); !why.empty()) throw StoreError("postgresql store " + impl->where + ": " + why);
  impl->conn = Connect(url);
  if (!impl->conn) throw StoreError("postgresql store " + impl->where + ": out of memory");
  if (PQstatus(impl->conn) != CONNECTION_OK) {
    // Not Fail: its reset would connect again, doubling the wait for a
    // server that does not answer.
    throw StoreError("postgresql store " + impl->where + ": cannot connect: " + Trimmed(PQerrorMessage(impl->conn)));
  }
  PQsetNoticeProcessor(impl->conn, Quiet, nullptr);
  impl->Schema(create);
  impl->PrepareAll();
  impl->lease_conn = Connect(url);
  if (!impl->lease_conn || PQstatus(impl->lease_conn) != CONNECTION_OK) impl->Fail("cannot connect for leases",
      impl->lease_conn ? PQerrorMessage(impl->lease_conn) : "out of memory");
  impl->UnsyncedLeases();
  return std::unique_ptr<PgStore>(new PgStore(std::move(impl)));
}

int PgStore::schema_version() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Result v = impl_->Exec("SELECT max(version) FROM aos_schema", "cannot read the schema version");
  return std::atoi(PQgetvalue(v.get(), 0, 0));
}

void PgStore::DropAllForTests() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::string sql = "DROP TABLE IF EXISTS aos_schema, aos_leases";
  for (int i = 0; i < kColumnCount; ++i) sql += ", " + Table(static_cast<Column>(i));
  impl_->Exec(sql + "; DROP FUNCTION IF EXISTS aos_fence; DROP FUNCTION IF EXISTS aos_claim", "cannot drop the tables");
  std::lock_guard<std::mutex> maps(impl_->map_mu);
  impl_->leases.clear();
  impl_->first_claims.clear();
  impl_->lost.clear();
}

void PgStore::ClearForTests() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::string sql = "TRUNCATE aos_leases";
  for (int i = 0; i < kColumnCount; ++i) sql += ", " + Table(static_cast<Column>(i));
  impl_->Exec(sql, "cannot empty the tables");
  std::lock_guard<std::mutex> maps(impl_->map_mu);
  impl_->leases.clear();
  impl_->first_claims.clear();
  impl_->lost.clear();
}

// The leases a batch's appends run under, and the new runs it claims.
struct PgStore::Fences {
  std::map<std::string, int64_t> held;  // run -> epoch: aos_fence
  std::set<std::string> first;          // ClaimNewRun, first batch: aos_claim
};

PgStore::Fences PgStore::FencesOf(const WriteBatch& batch) {
  Fences f;
  std::lock_guard<std::mutex> maps(impl_->map_mu);
  if (impl_->leases.empty() && impl_->lost.empty() && impl_->first_claims.empty()) return f;
  for (const auto& op : batch.ops) {
    if (op.column != Column::kEvents) continue;
    const std::string run = op.key.substr(0, op.key.find('\0'));
    if (impl_->lost.count(run)) {
      throw LeaseLost("postgresql store " + impl_->where + ": the lease of run " + run +
                      " was taken over (this worker no longer runs it)");
    }
    if (auto lease = impl_->leases.find(run); lease != impl_->leases.end()) {
      f.held[run] = lease->second;
    } else if (impl_->first_claims.count(run)) {
      f.first.insert(run);
    }
  }
  return f;
}

void PgStore::Write(const WriteBatch& batch, bool sync) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  PGconn* conn = impl_->conn;
  const Fences fences = FencesOf(batch);  // refused at once when a lease was lost
  // BEGIN, the ops in order, COMMIT: sent in chunks, each chunk's results
  // read before the next is sent (so neither side blocks on a full socket).
  Pipeline p(conn);
  if (!p.Enter()) impl_->Fail("cannot enter pipeline mode");
  p.Text("BEGIN");
  // Synced: the commit waits for the WAL flush (the session's default is
  // off, PrepareAll).
  if (sync) p.Text("SET LOCAL synchronous_commit TO on");
  if (batch.ops.empty()) p.Text("SELECT txid_current()");  // a commit record to wait for
  // First the claims of new runs (their epochs read back), then the fence
  // of each leased run the batch appends to.
  const std::string owner = impl_->owner, ms = std::to_string(kLeaseMs);
  std::map<std::string, std::string> claimed;
  for (const auto& run : fences.first) {
    p.CaptureNext(&claimed[run]);
    p.Params("SELECT aos_claim($1, $2, $3::bigint)", {run.c_str(), owner.c_str(), ms.c_str()});
  }
  for (const auto& [run, e] : fences.held) {
    const std::string epoch = std::to_string(e);
    p.Params("SELECT aos_fence($1, $2, $3::bigint)", {run.c_str(), owner.c_str(), epoch.c_str()});
  }
  for (const auto& op : batch.ops) {
    const std::string n = std::to_string(Index(op.column));
    const char* values[2] = {op.key.data(), op.value ? op.value->data() : nullptr};
    const int lengths[2] = {static_cast<int>(op.key.size()), op.value ? static_cast<int>(op.value->size()) : 0};
    p.Prepared((op.value ? "p" : "d") + n, op.value ? 2 : 1, values, lengths);
    if (p.pending() >= kPipelineChunk && p.error().empty()) p.Drain();
    if (!p.error().empty()) break;
  }
  // A waiting run's due time (not a running run's 1): other workers' due
  // polls wake for it (WaitForDue) instead of finding it at their next poll.
  uint64_t notify = 0;
  for (const auto& op : batch.ops) {
    if (op.column != Column::kDue || !op.value || op.key.size() < 8) continue;
    const uint64_t due = GetBigEndian64(op.key);
    if (due > 1 && (!notify || due < notify)) notify = due;
  }
  if (notify) p.Text(("SELECT pg_notify('aos_due', '" + std::to_string(notify) + "')").c_str());
  // The lease the batch gives up (WriteBatch::release_run), if this store
  // holds or claims it here: in the same transaction.
  const std::string& release = batch.release_run;
  const auto held = fences.held.find(release);
  const int64_t released_epoch = release.empty() || held == fences.held.end() ? 0 : held->second;
  struct Releasing {  // marked while the batch is in flight, whatever happens
    Impl& impl;
    const std::string& run;
    bool on;
    Releasing(Impl& i, const std::string& r, bool o) : impl(i), run(r), on(o) {
      if (!on) return;
      std::lock_guard<std::mutex> maps(impl.map_mu);
      impl.releasing.insert(run);
    }
    ~Releasing() {
      if (!on) return;
      std::lock_guard<std::mutex> maps(impl.map_mu);
      impl.releasing.erase(run);
    }
  } releasing{*impl_, release, released_epoch != 0};
  if (released_epoch) {
    const std::string epoch = std::to_string(released_epoch);
    p.Params("DELETE FROM aos_leases WHERE run_id = $1 AND owner = $2 AND epoch = $3::bigint",
             {release.c_str(), owner.c_str(), epoch.c_str()});
  } else if (!release.empty() && fences.first.count(release)) {
    p.Params("DELETE FROM aos_leases WHERE run_id = $1 AND owner = $2", {release.c_str(), owner.c_str()});
  }
  p.Text("COMMIT");
  p.Drain();
  std::string error = p.error();
  if (!p.Exit()) {
    // Results still pending: the session is unusable, and its transaction
    // must not meet the next batch's COMMIT. A new connection drops it.
    if (error.empty()) error = PQerrorMessage(conn);
    impl_->Reset();
    impl_->Fail("write failed", error.c_str());
  }
  if (!error.empty()) {
    Result rollback(PQexec(conn, "ROLLBACK"));
    if (!rollback.ok()) impl_->Reset();
    if (p.sqlstate() == "AOS01") {
      while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
      throw LeaseLost("postgresql store " + impl_->where + ": " + error + " (this worker no longer runs it)");
    }
    impl_->Fail("write failed", error.c_str());
  }
  Settle(fences, claimed, release, released_epoch);
  TellViews(batch);
}

void PgStore::Settle(const Fences& fences, const std::map<std::string, std::string>& claimed,
                     const std::string& release, int64_t released_epoch) {
  std::lock_guard<std::mutex> maps(impl_->map_mu);
  for (const auto& run : fences.first) {
    impl_->first_claims.erase(run);
    if (run == release) continue;  // claimed and given up in one transaction
    auto epoch = claimed.find(run);
    if (epoch != claimed.end()) impl_->leases[run] = std::atoll(epoch->second.c_str());
  }
  if (released_epoch) {
    if (auto it = impl_->leases.find(release); it != impl_->leases.end() && it->second == released_epoch) {
      impl_->leases.erase(it);  // ReleaseRun then has nothing to do
    }
  }
}

bool PgStore::ClaimNewRun(const std::string& run_id) {
  std::lock_guard<std::mutex> maps(impl_->map_mu);
  // Held already (a schedule's fire claims before it starts): fenced as held.
  if (!impl_->leases.count(run_id)) impl_->first_claims.insert(run_id);
  return true;
}

void PgStore::Sync() { Write(WriteBatch{}, true); }

const std::string& PgStore::owner() const { return impl_->owner; }

std::optional<int64_t> PgStore::ClaimRun(const std::string& run_id, int64_t lease_ms) {
  std::lock_guard<std::mutex> lock(impl_->lease_mu);
  const std::string ms = std::to_string(lease_ms);
  const char* values[3] = {run_id.c_str(), impl_->owner.c_str(), ms.c_str()};
  Result r = impl_->LeaseExec("INSERT INTO aos_leases (run_id, owner, epoch, lease_until)"
                       " VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 millisecond')"
                       " ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, epoch = aos_leases.epoch + 1,"
                       " lease_until = EXCLUDED.lease_until"
                       " WHERE aos_leases.lease_until < clock_timestamp() OR aos_leases.owner = EXCLUDED.owner"
                       " RETURNING epoch",
                       3, values, "cannot claim run " + run_id);
  std::lock_guard<std::mutex> maps(impl_->map_mu);
  if (r.rows() == 0) {
    if (impl_->leases.count(run_id)) impl_->Lose(run_id);
    return std::nullopt;
  }
  const int64_t epoch = std::atoll(PQgetvalue(r.get(), 0, 0));
  impl_->leases[run_id] = epoch;
  impl_->lost.erase(run_id);
  return epoch;
}

std::vector<std::string> PgStore::RenewLeases(int64_t lease_ms) {
  std::lock_guard<std::mutex> lock(impl_->lease_mu);
  std::map<std::string, int64_t> held;
  {
    std::lock_guard<std::mutex> maps(impl_->map_mu);
    held = impl_->leases;
  }
  std::vector<std::string> lost;
  if (held.empty()) return lost;
  // The held leases in one statement (only those: a row of this owner the
  // map forgot, after a release that failed, runs out); a held lease it
  // does not return with its epoch was taken over.
  std::string runs = "{";
  for (const auto& [run, e] : held) {
    if (runs.size() > 1) runs += ",";
    runs += "\"";
    for (char ch : run) {
      if (ch == '"' || ch == '\\') runs += '\\';
      runs += ch;
    }
    runs += "\"";
  }
  runs += "}";
  const std::string ms = std::to_string(lease_ms);
  const char* values[3] = {impl_->owner.c_str(), ms.c_str(), runs.c_str()};
  Result r = impl_->LeaseExec("UPDATE aos_leases SET lease_until = clock_timestamp() + $2::bigint * interval '1 millisecond'"
                              " WHERE owner = $1 AND run_id = ANY($3::text[]) RETURNING run_id, epoch",
                              3, values, "cannot renew leases");
  std::map<std::string, int64_t> renewed;
  for (int i = 0; i < r.rows(); ++i) renewed[PQgetvalue(r.get(), i, 0)] = std::atoll(PQgetvalue(r.get(), i, 1));
  for (const auto& [run, e] : held) {
    if (auto it = renewed.find(run); it != renewed.end() && it->second == e) continue;
    std::lock_guard<std::mutex> maps(impl_->map_mu);
    if (impl_->releasing.count(run)) continue;  // given up by a batch committing now, not taken
    auto it = impl_->leases.find(run);
    if (it != impl_->leases.end() && it->second == e) {  // not claimed again meanwhile
      impl_->Lose(run);
      lost.push_back(run);
    }
  }
  return lost;
}

void PgStore::ReleaseRun(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(impl_->lease_mu);
  int64_t e = 0;
  bool first = false;
  {
    std::lock_guard<std::mutex> maps(impl_->map_mu);
    impl_->lost.erase(run_id);
    first = impl_->first_claims.erase(run_id) > 0;
    auto it = impl_->leases.find(run_id);
    if (it != impl_->leases.end()) {
      e = it->second;
      impl_->leases.erase(it);
    }
  }
  if (!e) {
    if (!first) return;
    // Claimed by a first batch that may have committed though its answer
    // was lost: the row, if any, is this worker's whatever its epoch.
    const char* values[2] = {run_id.c_str(), impl_->owner.c_str()};
    impl_->LeaseExec("DELETE FROM aos_leases WHERE run_id = $1 AND owner = $2", 2, values,
                     "cannot release run " + run_id);
    return;
  }
  const std::string epoch = std::to_string(e);
  const char* values[3] = {run_id.c_str(), impl_->owner.c_str(), epoch.c_str()};
  impl_->LeaseExec("DELETE FROM aos_leases WHERE run_id = $1 AND owner = $2 AND epoch = $3::bigint", 3, values,
            "cannot release run " + run_id);
}

// The key of the entity writers' advisory lock (aos_schema's upgrades hold 7306001).
constexpr const char* kEntityLockSql = "SELECT pg_advisory_lock(7306002)";
constexpr const char* kEntityUnlockSql = "SELECT pg_advisory_unlock(7306002)";

void PgStore::LockEntities() {
  impl_->lock_mu.lock();
  Impl& i = *impl_;
  auto fail = [&](const std::string& m) {
    i.lock_mu.unlock();
    throw StoreError("postgresql store " + i.where + ": cannot take the entity writers' lock: " + m);
  };
  if (!i.lock_conn || PQstatus(i.lock_conn) != CONNECTION_OK) {
    if (i.lock_conn) PQfinish(i.lock_conn);
    i.lock_conn = Connect(i.url);
    if (!i.lock_conn || PQstatus(i.lock_conn) != CONNECTION_OK) {
      fail(i.lock_conn ? PQerrorMessage(i.lock_conn) : "out of memory");
    }
  }
  Result r(PQexec(i.lock_conn, kEntityLockSql));
  if (!r.ok()) fail(r.get() ? PQresultErrorMessage(r.get()) : PQerrorMessage(i.lock_conn));
}

void PgStore::UnlockEntities() {
  Impl& i = *impl_;
  Result r(PQexec(i.lock_conn, kEntityUnlockSql));
  // Not given back (the connection broke): its session, and the lock with
  // it, is gone, or is ended here.
  if (!r.ok()) {
    PQfinish(i.lock_conn);
    i.lock_conn = nullptr;
  }
  i.lock_mu.unlock();
}

std::vector<std::string> PgStore::ClaimDueRuns(int64_t now, int limit, int64_t* next_due) {
  std::vector<std::string> out;
  if (limit <= 0) return out;  // *next_due stays what the caller knows
  *next_due = 0;
  std::lock_guard<std::mutex> lock(impl_->lease_mu);
  std::string upto, hex;
  PutBigEndian64(upto, static_cast<uint64_t>(now) + 1);  // keys below: due at or before now
  for (unsigned char c : upto) {
    static const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  const std::string lim = std::to_string(limit), ms = std::to_string(kLeaseMs);
  const char* values[4] = {hex.c_str(), lim.c_str(), impl_->owner.c_str(), ms.c_str()};
  // encode(..., 'escape') reads any bytes as text (run ids are plain ASCII).
  Result r = impl_->LeaseExec(
      "WITH due AS (SELECT encode(substring(d.k from 9), 'escape') AS run_id FROM aos_due d"
      "  WHERE d.k < decode($1, 'hex') AND NOT EXISTS (SELECT 1 FROM aos_leases l"
      "    WHERE l.run_id = encode(substring(d.k from 9), 'escape') AND l.lease_until > clock_timestamp())"
      "  ORDER BY d.k LIMIT $2::int FOR UPDATE OF d SKIP LOCKED)"
      " INSERT INTO aos_leases (run_id, owner, epoch, lease_until)"
      " SELECT DISTINCT run_id, $3, 1, clock_timestamp() + $4::bigint * interval '1 millisecond' FROM due"
      " ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, epoch = aos_leases.epoch + 1,"
      " lease_until = EXCLUDED.lease_until WHERE aos_leases.lease_until < clock_timestamp()"
      " RETURNING run_id, epoch",
      4, values, "cannot claim due runs");
  {
    std::lock_guard<std::mutex> maps(impl_->map_mu);
    for (int i = 0; i < r.rows(); ++i) {
      out.emplace_back(PQgetvalue(r.get(), i, 0));
      // A run this worker lost stays refused (`lost`) until the job that
      // continues it claims it again under the run's guard.
      impl_->leases[out.back()] = std::atoll(PQgetvalue(r.get(), i, 1));
    }
  }
  // The runs are claimed: returned whatever the next look finds.
  try {
    Result next = impl_->LeaseExec(
        "SELECT ('x' || encode(substring(k from 1 for 8), 'hex'))::bit(64)::bigint FROM aos_due"
        " WHERE k >= decode($1, 'hex') ORDER BY k LIMIT 1",
        1, values, "cannot read the next due time");
    if (next.rows() > 0) *next_due = std::atoll(PQgetvalue(next.get(), 0, 0));
  } catch (const StoreError&) {
    *next_due = 0;  // looked for again within the second
  }
  return out;
}

int64_t PgStore::WaitForDue(int ms) {
  Impl& i = *impl_;
  if (!i.listen_conn || PQstatus(i.listen_conn) != CONNECTION_OK) {
    if (i.listen_conn) PQfinish(i.listen_conn);
    i.listen_conn = Connect(i.url);
    Result r(i.listen_conn && PQstatus(i.listen_conn) == CONNECTION_OK ? PQexec(i.listen_conn, "LISTEN aos_due")
                                                                         : nullptr);
    if (!r.ok()) {
      // No listener now: a plain wait, and the next call tries again.
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return 0;
    }
  }
  pollfd p{PQsocket(i.listen_conn), POLLIN, 0};
  poll(&p, 1, ms);  // a notification, or the time is up
  PQconsumeInput(i.listen_conn);
  int64_t earliest = 0;
  while (PGnotify* n = PQnotifies(i.listen_conn)) {
    const int64_t due = std::atoll(n->extra);
    if (due > 0 && (!earliest || due < earliest)) earliest = due;
    PQfreemem(n);
  }
  return earliest;
}

bool PgStore::CompareAndSet(Column c, std::string_view key, const std::optional<std::string>& expected,
                            const std::string& value, std::optional<std::string>* current) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const std::string n = std::to_string(Index(c));
  Result r = expected ? impl_->Run("c" + n, {key, *expected, value}, "compare-and-set failed")
                      : impl_->Run("i" + n, {key, value}, "compare-and-set failed");
  if (std::string_view(PQcmdTuples(r.get())) == "1") {
    *current = value;
    return true;
  }
  *current = Get(c, key);
  return false;
}

std::optional<std::string> PgStore::Get(Column c, std::string_view key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Result r = impl_->Run("g" + std::to_string(Index(c)), {key}, "read failed");
  if (r.rows() == 0) return std::nullopt;
  return std::string(r.bytes(0, 0));
}

void PgStore::Scan(Column c, std::string_view prefix, std::string_view start,
                   const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const std::string end = PrefixEnd(prefix), n = std::to_string(Index(c));
  std::string from(start < prefix ? prefix : start);
  for (;;) {
    Result r = end.empty() ? impl_->Run("S" + n, {from}, "scan failed")
                           : impl_->Run("s" + n, {from, end}, "scan failed");
    for (int i = 0; i < r.rows(); ++i) {
      if (!visit(r.bytes(i, 0), r.bytes(i, 1))) return;
    }
    if (r.rows() < kScanChunk) return;
    from = std::string(r.bytes(r.rows() - 1, 0)) + std::string(1, '\0');  // just after the last key read
  }
}

std::optional<std::string> PgStore::LastKey(Column c, std::string_view prefix) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const std::string end = PrefixEnd(prefix), n = std::to_string(Index(c));
  Result r = end.empty() ? impl_->Run("L" + n, {prefix}, "read failed") : impl_->Run("l" + n, {prefix, end}, "read failed");
  if (r.rows() == 0) return std::nullopt;
  return std::string(r.bytes(0, 0));
}

}  // namespace aos
