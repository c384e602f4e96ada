// PgStore: the Store (store.h) on a PostgreSQL database, for an operator
// whose workforce outgrows one machine (docs/cluster.md). Each Column is a
// table `aos_<column>` of (k bytea primary key, v bytea): bytea compares
// byte by byte, so scans see keys in the order RocksDB gives them, and the
// values are the same bytes (event records with their CRCs). A batch is one
// transaction, sent in one round trip (libpq's pipeline mode, statements
// prepared once per connection); a synced batch commits with
// synchronous_commit on, an unsynced one with it off (durable at the next
// synced commit, as an unsynced RocksDB write is at the next synced one).
//
// The tables are created and versioned here: `aos_schema` holds the
// version; opening refuses a newer one, and a database without the tables
// unless asked to create them (`aosrun migrate-store`, or a run's start).
// One connection per store, used by one thread at a time.
//
// Not the sole writer: other processes (workers) write the same database,
// so in-memory views (the kb index) are not kept (Store::SoleWriter).
#ifndef AOS_RUNTIME_PG_STORE_H_
#define AOS_RUNTIME_PG_STORE_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/store.h"

namespace aos {

// The version of the tables this build reads and writes (1: the columns;
// 2: aos_leases and the aos_fence function; 3: aos_claim, a claim inside a
// batch's transaction).
inline constexpr int kPgSchemaVersion = 3;


// Whether `where` names a PostgreSQL store (postgresql:// or postgres://).
bool IsPgUrl(const std::string& where);
// `url` with any password replaced by "***", for messages.
std::string RedactedUrl(const std::string& url);

class PgStore : public Store {
 public:
  // Connects to `url`; with `create`, makes the tables when the database
  // has none. Throws StoreError saying why it cannot (the server does not
  // answer, no AOS tables and not `create`, a newer schema, a database
  // holding other tables named aos_*).
  static std::unique_ptr<PgStore> Open(const std::string& url, bool create);
  ~PgStore() override;

  void Write(const WriteBatch& batch, bool sync) override;
  std::optional<std::string> Get(Column c, std::string_view key) override;
  void Scan(Column c, std::string_view prefix, std::string_view start,
            const std::function<bool(std::string_view, std::string_view)>& visit) override;
  std::optional<std::string> LastKey(Column c, std::string_view prefix) override;
  void Sync() override;
  bool CompareAndSet(Column c, std::string_view key, const std::optional<std::string>& expected,
                     const std::string& value, std::optional<std::string>* current) override;
  bool SoleWriter() const override { return false; }

  // The schema version the database holds (after Open: kPgSchemaVersion).
  int schema_version();

  // Leases (docs/cluster.md): one worker at a time executes a run. This
  // store's worker claims run `run_id` for `lease_ms` when no worker holds
  // it or the holder's lease has run out; the lease's epoch, or nullopt
  // when another worker holds it. From then on every batch this store
  // writes that appends to the run is fenced: it commits only while this
  // lease is the run's (aos_fence, in the batch's transaction), else
  // throws LeaseLost.
  std::optional<int64_t> ClaimRun(const std::string& run_id, int64_t lease_ms);
  // Extends every lease this store holds; returns the runs whose lease was
  // lost (taken over), which it no longer holds.
  std::vector<std::string> RenewLeases(int64_t lease_ms);
  // Gives the run up (it waits, or it ended).
  void ReleaseRun(const std::string& run_id) override;

  // The Store's lease hooks, with kLeaseMs: a worker that stops renewing
  // loses its runs after it (serve renews every kLeaseMs / 5).
  static constexpr int64_t kLeaseMs = 5000;
  bool Shared() const override { return true; }
  bool ClaimRun(const std::string& run_id) override { return ClaimRun(run_id, kLeaseMs).has_value(); }
  // Claimed by the run's first batch (aos_claim in its transaction).
  bool ClaimNewRun(const std::string& run_id) override;
  std::vector<std::string> RenewLeases() override { return RenewLeases(kLeaseMs); }
  // This store's worker: host, process and a random part.
  const std::string& owner() const;
  // One statement: the due rows FOR UPDATE SKIP LOCKED, their leases
  // inserted (or taken over when run out) and returned.
  std::vector<std::string> ClaimDueRuns(int64_t now, int limit, int64_t* next_due) override;
  // Every batch that writes a waiting run's due time notifies channel
  // aos_due with it (pg_notify, delivered at commit); this listens on a
  // connection of its own.
  int64_t WaitForDue(int ms) override;
  // A session advisory lock, on a connection of its own (waiting for it
  // never holds up this process's reads and writes).
  void LockEntities() override;
  void UnlockEntities() override;
  // Drops every aos_* table / empties them: for tests, which share one server.
  void DropAllForTests();
  void ClearForTests();

 private:
  struct Impl;
  struct Fences;
  explicit PgStore(std::unique_ptr<Impl> impl);
  Fences FencesOf(const WriteBatch& batch);
  // After a committed batch: the new runs' leases kept, the given-up one dropped.
  void Settle(const Fences& fences, const std::map<std::string, std::string>& claimed, const std::string& release,
              int64_t released_epoch);
  std::unique_ptr<Impl> impl_;
  std::recursive_mutex mu_;  // one connection; a scan's visitor may Get
};

}  // namespace aos

#endif  // AOS_RUNTIME_PG_STORE_H_
