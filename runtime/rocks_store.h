// RocksStore: the Store of a data directory, on one embedded RocksDB database
// with a column family per Column (store.h). Synced writes fsync RocksDB's
// write-ahead log; unsynced ones reach the OS and are group-committed by the
// next synced write (the WAL is sequential, so a synced write makes every
// earlier one durable too).
//
// Opening refuses, with a StoreError that says why: a directory that is not
// an AOS data directory (foreign files, or a RocksDB database without our
// format marker), a newer format, and a directory another process holds
// (RocksDB's LOCK file: a data directory is leased by one process at a time;
// the error is a StoreBusy).
#ifndef AOS_RUNTIME_ROCKS_STORE_H_
#define AOS_RUNTIME_ROCKS_STORE_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "runtime/store.h"

namespace aos {

// The data directory's format marker, in Column::kMeta under "format".
inline constexpr const char* kDataDirFormat = "aos-data-dir 1";

class RocksStore : public Store {
 public:
  // Opens (creating with mode 0700 when `create` and absent) the data
  // directory `dir`. Throws StoreError / StoreBusy.
  static std::unique_ptr<RocksStore> Open(const std::string& dir, bool create);
  // A read-only view of a data directory another process holds (a RocksDB
  // secondary instance: it sees what that process has written so far).
  // Writes throw StoreError. Throws StoreError when it cannot be opened.
  static std::unique_ptr<RocksStore> OpenReadOnly(const std::string& dir);
  bool read_only() const;
  ~RocksStore() override;

  void Write(const WriteBatch& batch, bool sync) override;
  std::optional<std::string> Get(Column c, std::string_view key) override;
  void Scan(Column c, std::string_view prefix, std::string_view start,
            const std::function<bool(std::string_view, std::string_view)>& visit) override;
  std::optional<std::string> LastKey(Column c, std::string_view prefix) override;
  std::vector<std::string> CheckFiles(std::optional<Column> c) override;
  void SyncWal();
  void Sync() override { SyncWal(); }
  bool SoleWriter() const override { return !read_only(); }

 private:
  struct Impl;
  bool StillLive(const std::string& name);  // an SST file still among the live ones
  explicit RocksStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::mutex verified_mu_;
  std::set<std::string> verified_;  // SST files this process checked and found whole
};

}  // namespace aos

#endif  // AOS_RUNTIME_ROCKS_STORE_H_
