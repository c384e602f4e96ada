// Store: the data directory as the runtime sees it — a few ordered key/value
// columns written in atomic batches, each batch synced or not. Two
// implementations share these semantics: RocksStore (rocks_store.h, one
// RocksDB database with a column family per column) and MemoryStore below,
// for tests, which can "crash" after the k-th event append and then loses
// every write that was not synced, the worst a power cut can do.
//
// I/O failures are thrown as StoreError; the tools turn them into exit 74.
#ifndef AOS_RUNTIME_STORE_H_
#define AOS_RUNTIME_STORE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace aos {

enum class Column : uint8_t {
  kEvents = 0,     // run_id ‖ 0x00 ‖ big-endian seq -> event record
  kRuns,           // run_id -> run index record
  kIdempotency,    // workflow \0 key -> effect result
  kEntities,       // entity type \0 key -> record
  kKv,             // key -> value (kv.put / kv.get)
  kSnapshots,      // run_id -> RunState snapshot
  kCache,          // call digest -> result (the inference cache)
  kMeta,           // "format" -> data directory format marker
  kSignals,        // reserved (signals are events of their run)
  kKb,             // collection \0 id -> {id, text, meta, vector} (kb.add)
  kDue,            // big-endian due time ‖ run_id -> "" (serve's start-up; 1 = running)
};
inline constexpr int kColumnCount = 11;
const char* ColumnName(Column c);

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The store is held by another process (a data directory's lock).
class StoreBusy : public StoreError {
 public:
  using StoreError::StoreError;
};
// A batch appended to a run whose lease this worker held and lost (another
// worker took the run over): nothing of the batch was written.
class LeaseLost : public StoreError {
 public:
  using StoreError::StoreError;
};

struct WriteBatch {
  struct Op {
    Column column;
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };
  std::vector<Op> ops;
  int events = 0;       // how many ops append to kEvents
  int state_writes = 0;  // ops on kEntities and kKv (reads must see them)
  // A leased run whose work here this batch ends (it waits or ended): a
  // shared store gives its lease up in the batch's transaction, one round
  // trip fewer than ReleaseRun after it. Other stores ignore it.
  std::string release_run;

  void Put(Column c, std::string key, std::string value) {
    if (c == Column::kEvents) ++events;
    if (c == Column::kEntities || c == Column::kKv || c == Column::kKb) ++state_writes;
    ops.push_back(Op{c, std::move(key), std::move(value)});
  }
  void Delete(Column c, std::string key) {
    if (c == Column::kEntities || c == Column::kKv || c == Column::kKb) ++state_writes;
    ops.push_back(Op{c, std::move(key), std::nullopt});
  }
  bool empty() const { return ops.empty(); }
  void clear() {
    ops.clear();
    events = 0;
    state_writes = 0;
    release_run.clear();
  }
};

// A view of a store's contents kept in memory (the kb index, kb_index.h). The
// store owns its views and tells each of every batch once it is applied, so
// a view follows the writes of its process without scanning again.
class StoreView {
 public:
  virtual ~StoreView() = default;
  virtual void Applied(const WriteBatch& batch) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Applies the batch atomically; with `sync`, durable on return (and so is
  // every batch written before it).
  virtual void Write(const WriteBatch& batch, bool sync) = 0;
  virtual std::optional<std::string> Get(Column c, std::string_view key) = 0;
  // Visits keys >= start that begin with `prefix`, in order, until `visit`
  // returns false.
  virtual void Scan(Column c, std::string_view prefix, std::string_view start,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
  // The last key beginning with `prefix`, if any (the tail of a run's log).
  virtual std::optional<std::string> LastKey(Column c, std::string_view prefix) = 0;
  // Makes every batch written so far durable (a group commit of unsynced
  // writes). The default writes an empty synced batch.
  virtual void Sync() { Write(WriteBatch{}, true); }
  // Damage in the stored files of column `c` (all columns: nullopt), one
  // line each naming the file and what is wrong; empty when all is well.
  // Needed because a scan over a damaged file can skip it silently. A file
  // found whole is not read again by the same store object (files never
  // change; a long-running process lists often).
  virtual std::vector<std::string> CheckFiles(std::optional<Column> c) {
    (void)c;
    return {};
  }
  // Sets `key` of column `c` to `value` when it holds `expected` (nullopt:
  // when it is absent), as one step no other CompareAndSet of any writer of
  // the store comes between: true when set, else false with what the key
  // holds in *current (nullopt: absent). Not synced. For cross-run claims
  // (idempotency.h), whose keys plain writes touch only from their holder.
  // The default serves a store one process writes: it holds a lock every
  // CompareAndSet of this object takes. A shared store overrides it.
  virtual bool CompareAndSet(Column c, std::string_view key, const std::optional<std::string>& expected,
                             const std::string& value, std::optional<std::string>* current);

  // Whether every write to the store goes through this object (a data
  // directory leased by this process) and the implementation calls
  // TellViews. Only then can a view trust that Applied told it of every
  // change; otherwise View gives none.
  virtual bool SoleWriter() const { return false; }

  // Leases, for a store several workers share (docs/cluster.md): a run is
  // executed by the one worker holding its lease, and the store refuses an
  // append to a run whose lease this worker lost (LeaseLost, pg_store.h).
  // A store one process holds has no other worker: every claim is granted.
  virtual bool Shared() const { return false; }
  // Claims run `run_id` for this worker: false when another worker holds it.
  virtual bool ClaimRun(const std::string& run_id) {
    (void)run_id;
    return true;
  }
  // Claims run `run_id`, not in the store yet (a start), for this worker. A
  // shared store may claim it with the run's first batch, in that batch's
  // transaction (a round trip fewer); the batch then fails with LeaseLost
  // when another worker holds the run. Only a run's first batch may follow.
  virtual bool ClaimNewRun(const std::string& run_id) { return ClaimRun(run_id); }
  // Extends every lease this worker holds; the runs whose lease was lost.
  virtual std::vector<std::string> RenewLeases() { return {}; }
  // Gives run `run_id` up (its work here is done: it waits or ended).
  virtual void ReleaseRun(const std::string& run_id) { (void)run_id; }
  // Claims for this worker up to `limit` runs whose due key (Column::kDue)
  // is at or before `now` (a running run's is always) and that no worker
  // holds a live lease of. Rows another worker is claiming at that moment
  // are skipped, so workers polling together split the work. *next_due:
  // the earliest due time after `now`, 0 when none. The runs returned are
  // this worker's until ReleaseRun. A store one process holds: none (that
  // process's Driver keeps its own timers).
  virtual std::vector<std::string> ClaimDueRuns(int64_t now, int limit, int64_t* next_due) {
    (void)now;
    (void)limit;
    *next_due = 0;
    return {};
  }
  // Waits up to `ms` for another worker to write a due time; the earliest
  // one written meanwhile, 0 when none (the default only sleeps).
  virtual int64_t WaitForDue(int ms);
  // Holds the entity writers' lock of every process sharing the store, until
  // UnlockEntities: entity writes read, change and write records under it
  // (runner_entities.cc; a process's own threads take its lock first). A
  // store one process holds has no other writer: nothing to hold. A worker
  // that dies holding it gives it up (PostgreSQL: a session's advisory lock).
  virtual void LockEntities() {}
  virtual void UnlockEntities() {}

  // The view named `name`, made by `make` on first use; nullptr when the
  // store is not its sole writer.
  std::shared_ptr<StoreView> View(const std::string& name, const std::function<std::shared_ptr<StoreView>()>& make);

 protected:
  // Implementations call these after applying a batch (outside their own
  // locks: a view may read the store), and when writes are forgotten.
  void TellViews(const WriteBatch& batch);
  void DropViews();

 private:
  std::mutex views_mu_;
  std::vector<std::pair<std::string, std::shared_ptr<StoreView>>> views_;
  std::mutex cas_mu_;
};

// One claim of a run's lease, given back when the guard goes out of scope if
// it was taken (set_held). Giving it back can fail (the store is gone): the
// lease then runs out by itself.
class HeldLease {
 public:
  HeldLease(Store& store, std::string run_id) : store_(store), run_id_(std::move(run_id)) {}
  ~HeldLease();
  HeldLease(const HeldLease&) = delete;
  HeldLease& operator=(const HeldLease&) = delete;
  void set_held(bool held) { held_ = held; }
  bool held() const { return held_; }

 private:
  Store& store_;
  std::string run_id_;
  bool held_ = false;
};

// Renews every lease this process holds on a shared store, once a second,
// while it lives: a CLI command or a --batch that runs a run for longer
// than a lease (5 s) would otherwise have it taken over, and its appends
// refused. (serve's Driver renews its own.) Nothing for other stores.
class LeaseRenewal {
 public:
  explicit LeaseRenewal(Store& store);
  ~LeaseRenewal();
  LeaseRenewal(const LeaseRenewal&) = delete;
  LeaseRenewal& operator=(const LeaseRenewal&) = delete;

 private:
  Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Thrown by MemoryStore::Write when the planned crash point is reached.
struct SimulatedCrash {};

class MemoryStore : public Store {
 public:
  void Write(const WriteBatch& batch, bool sync) override;
  std::optional<std::string> Get(Column c, std::string_view key) override;
  void Scan(Column c, std::string_view prefix, std::string_view start,
            const std::function<bool(std::string_view, std::string_view)>& visit) override;
  std::optional<std::string> LastKey(Column c, std::string_view prefix) override;
  bool SoleWriter() const override { return true; }

  // The batch that holds the k-th event append (1-based, counted from now)
  // is applied, then Write throws SimulatedCrash. 0: never.
  void CrashAfterAppends(uint64_t k) { crash_at_ = k ? appends_ + k : 0; }
  // Forgets everything not synced, as a power cut would, and clears the crash
  // point. The store is then what a restarted machine would find.
  void Crash();
  // A process crash (SIGKILL): every written batch survives, synced or not,
  // and the crash point is cleared. What a restarted process would find.
  void CrashProcess();
  uint64_t appends() const { return appends_; }
  uint64_t syncs() const { return syncs_; }

 private:
  using Table = std::map<std::string, std::string, std::less<>>;
  // Runs on several threads share a store (the Driver, tests): every method
  // holds this; recursive, as a Scan's visitor may Get.
  mutable std::recursive_mutex mu_;
  Table live_[kColumnCount];
  Table durable_[kColumnCount];
  std::vector<WriteBatch> unsynced_;
  uint64_t appends_ = 0;
  uint64_t crash_at_ = 0;
  uint64_t syncs_ = 0;
};

// Run event keys: run_id ‖ 0x00 ‖ big-endian seq, so a run's events iterate
// in order and no run's keys are a prefix of another's (run ids hold no NUL).
std::string EventKey(std::string_view run_id, uint64_t seq);
std::string EventPrefix(std::string_view run_id);

}  // namespace aos

#endif  // AOS_RUNTIME_STORE_H_
