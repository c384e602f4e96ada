#include "runtime/rocks_store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

namespace aos {

struct RocksStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // by Column
  std::string dir;
  std::string secondary;  // a read-only view's own directory (removed at close)

  rocksdb::ColumnFamilyHandle* cf(Column c) { return handles[static_cast<int>(c)]; }

  ~Impl() {
    if (db && !secondary.empty()) {
      for (auto* h : handles) {
        if (h) db->DestroyColumnFamilyHandle(h);
      }
      db->Close();
      db.reset();
      std::error_code ec;
      std::filesystem::remove_all(secondary, ec);
      return;
    }
    if (db) {
      // Move what this process wrote from the WAL into checksummed table
      // files, so that damage to a WAL left behind cannot silently drop
      // acknowledged runs (a torn WAL tail is indistinguishable from a crash).
      rocksdb::FlushOptions fo;
      fo.wait = true;
      db->Flush(fo, handles);
      for (auto* h : handles) {
        if (h) db->DestroyColumnFamilyHandle(h);
      }
      db->Close();
    }
  }
};

namespace {

// RocksDB's own log, kept to warnings and errors in <dir>/LOG. The default
// logger writes a thousand lines of options at every open, which a short
// `aosrun approve` pays for on every call.
class WarningLogger : public rocksdb::Logger {
 public:
  explicit WarningLogger(std::string path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), path_(std::move(path)) {}
  ~WarningLogger() override {
    if (f_) std::fclose(f_);
  }
  void LogHeader(const char*, va_list) override {}
  void Logv(const char*, va_list) override {}
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < rocksdb::InfoLogLevel::WARN_LEVEL) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!f_) f_ = std::fopen(path_.c_str(), "a");
    if (!f_) return;
    std::vfprintf(f_, format, ap);
    std::fputc('\n', f_);
    std::fflush(f_);
  }

 private:
  std::string path_;
  std::mutex mu_;
  std::FILE* f_ = nullptr;
};

[[noreturn]] void Throw(const std::string& dir, const rocksdb::Status& s, const char* what) {
  throw StoreError("data directory " + dir + ": " + what + ": " + s.ToString());
}

std::string CfName(int i) { return ColumnName(static_cast<Column>(i)); }

// Every column family, as the holder and a reader open them alike.
std::vector<rocksdb::ColumnFamilyDescriptor> ColumnFamilies() {
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 16 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int i = 0; i < kColumnCount; ++i) cfs.emplace_back(CfName(i), cf_options);
  return cfs;
}

}  // namespace

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;

std::unique_ptr<RocksStore> RocksStore::Open(const std::string& dir, bool create) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (!exists) {
    if (!create) throw StoreError("data directory " + dir + " does not exist");
    fs::create_directories(fs::path(dir).parent_path().empty() ? fs::path(".")
                                                               : fs::path(dir).parent_path(),
                           ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && !fs::is_directory(dir)) {
      throw StoreError("cannot create data directory " + dir + ": " +
                       std::error_code(errno, std::generic_category()).message());
    }
  } else if (!fs::is_directory(dir, ec)) {
    throw StoreError(dir + " is not a directory");
  }
  // Fresh: empty, or holding only what a first open killed before RocksDB
  // wrote CURRENT leaves behind (nothing was committed then).
  bool fresh = true;
  const bool has_current = fs::exists(fs::path(dir) / "CURRENT");
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string n = entry.path().filename().string();
    const bool rocks_artifact = n == "LOCK" || n == "IDENTITY" || n == "LOG" || n.rfind("LOG.old", 0) == 0 ||
                                n.rfind("aosrun.", 0) == 0 ||  // the process log
                                n.rfind("MANIFEST-", 0) == 0 || n.rfind("OPTIONS-", 0) == 0 ||
                                (n.size() > 6 && n.substr(n.size() - 6) == ".dbtmp") ||
                                (n.size() > 4 && n.substr(n.size() - 4) == ".log");
    if (has_current || !rocks_artifact) fresh = false;
    if (!has_current && !rocks_artifact) {
      throw StoreError(dir + " is not an AOS data directory (it holds other files; "
                       "give an empty or new directory with --data)");
    }
  }

  if (fresh && !create) {
    throw StoreError(dir + " holds no runs (starting a run creates a data directory)");
  }

  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // A record torn by a crash at the very end of the log is dropped (it was
  // never acknowledged as synced); damage anywhere else refuses to open,
  // rather than silently losing what follows it.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.max_background_jobs = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.info_log = std::make_shared<WarningLogger>((fs::path(dir) / "LOG").string());
  // aosrun is often a short process (approve, status): open and close fast.
  // One thread opens table files (the default, 16 per column family, starts
  // ~150 threads). Memtables are flushed explicitly at close (see ~Impl) and
  // not after recovery: a crashed process's WAL replays at the next open.
  options.max_file_opening_threads = 1;
  // Closed WALs are recorded in the MANIFEST with their sizes: a WAL that is
  // later truncated or missing is reported, not silently replayed short.
  options.track_and_verify_wals_in_manifest = true;
  options.atomic_flush = true;  // one flush job and manifest write for all columns
  options.avoid_flush_during_recovery = true;

  const std::vector<rocksdb::ColumnFamilyDescriptor> cfs = ColumnFamilies();

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, cfs, &handles, &raw);
  if (!s.ok() && s.IsInvalidArgument() && !fresh) {
    // A RocksDB database with column families that are not ours.
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(options, dir, &existing).ok()) {
      for (const auto& name : existing) {
        bool ours = name == rocksdb::kDefaultColumnFamilyName;
        for (int i = 0; i < kColumnCount; ++i) ours = ours || name == CfName(i);
        if (!ours) {
          throw StoreError(dir + " is not an AOS data directory (RocksDB column family '" + name +
                           "' is not ours)");
        }
      }
    }
  }
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      throw StoreBusy("data directory " + dir +
                      " is in use by another aosrun process (a data directory is leased by one "
                      "process at a time); wait for it to finish, or stop it");
    }
    if (s.IsCorruption()) Throw(dir, s, "corrupt");
    Throw(dir, s, "cannot open");
  }
  impl->db.reset(raw);
  impl->db->DestroyColumnFamilyHandle(handles[0]);  // default: unused
  impl->handles.assign(handles.begin() + 1, handles.end());
  auto store = std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));

  auto marker = store->Get(Column::kMeta, "format");
  if (!marker) {
    if (!fresh) {
      // An AOS directory always has the marker: written with the first open.
      bool has_data = false;
      store->Scan(Column::kRuns, "", "", [&](std::string_view, std::string_view) {
        has_data = true;
        return false;
      });
      if (has_data) throw StoreError(dir + " is not an AOS data directory (no format marker)");
    }
    WriteBatch b;
    b.Put(Column::kMeta, "format", kDataDirFormat);
    store->Write(b, true);
  } else if (*marker != kDataDirFormat) {
    throw StoreError("data directory " + dir + " has format '" + *marker +
                     "', which this aosrun does not read (it reads '" + kDataDirFormat + "')");
  }
  return store;
}

std::unique_ptr<RocksStore> RocksStore::OpenReadOnly(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "CURRENT", ec)) throw StoreError("data directory " + dir + " holds no runs");
  // A secondary instance follows the primary's MANIFEST and WAL, so it sees
  // what the running process has written; it keeps its own files apart.
  // Its directory is named by the process, so that one left behind by a
  // killed reader (`aosrun log RUN | head`) is removed by the next reader.
  const char* tmpdir = std::getenv("TMPDIR");
  const fs::path base = tmpdir && *tmpdir ? fs::path(tmpdir) : fs::temp_directory_path(ec);
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    const std::string n = entry.path().filename().string();
    if (n.rfind("aos-reader-", 0) != 0) continue;
    const long pid = std::strtol(n.c_str() + 11, nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
  std::string tmpl = (base / ("aos-reader-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw StoreError("cannot make a directory for a read-only view of " + dir);
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->secondary = tmpl;
  rocksdb::DBOptions options;
  options.max_open_files = -1;  // required of a secondary instance
  options.info_log = std::make_shared<WarningLogger>(impl->secondary + "/LOG");
  // Only the column families the directory has: one written by an older
  // aosrun lacks the newer ones (they read as empty here).
  std::vector<std::string> present;
  rocksdb::DB::ListColumnFamilies(options, dir, &present);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::vector<int> column_of;  // descriptor i -> Column, -1 for default
  for (const auto& d : ColumnFamilies()) {
    if (d.name != rocksdb::kDefaultColumnFamilyName &&
        std::find(present.begin(), present.end(), d.name) == present.end()) {
      continue;
    }
    int col = -1;
    for (int c = 0; c < kColumnCount; ++c) col = CfName(c) == d.name ? c : col;
    column_of.push_back(col);
    cfs.push_back(d);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(options, dir, impl->secondary, cfs, &handles, &raw);
  if (!s.ok()) {
    fs::remove_all(impl->secondary, ec);
    Throw(dir, s, "cannot open for reading");
  }
  impl->db.reset(raw);
  impl->handles.assign(kColumnCount, nullptr);
  for (size_t i = 0; i < handles.size(); ++i) {
    if (column_of[i] < 0) {
      impl->db->DestroyColumnFamilyHandle(handles[i]);
    } else {
      impl->handles[column_of[i]] = handles[i];
    }
  }
  impl->db->TryCatchUpWithPrimary();
  auto store = std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
  auto marker = store->Get(Column::kMeta, "format");
  if (!marker || *marker != kDataDirFormat) {
    throw StoreError("data directory " + dir + " is not an AOS data directory this aosrun reads");
  }
  return store;
}

bool RocksStore::read_only() const { return !impl_->secondary.empty(); }

void RocksStore::Write(const WriteBatch& batch, bool sync) {
  if (read_only()) {
    throw StoreError("data directory " + impl_->dir + " is open read-only (another process is using it)");
  }
  rocksdb::WriteBatch wb;
  for (const auto& op : batch.ops) {
    if (op.value) {
      wb.Put(impl_->cf(op.column), op.key, *op.value);
    } else {
      wb.Delete(impl_->cf(op.column), op.key);
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = impl_->db->Write(wo, &wb);
  if (!s.ok()) Throw(impl_->dir, s, "write failed");
  if (batch.state_writes) TellViews(batch);
}

void RocksStore::SyncWal() {
  rocksdb::Status s = impl_->db->SyncWAL();
  if (!s.ok()) Throw(impl_->dir, s, "sync failed");
}

std::optional<std::string> RocksStore::Get(Column c, std::string_view key) {
  if (!impl_->cf(c)) return std::nullopt;  // a column an older directory lacks (read-only view)
  std::string value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(c), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) Throw(impl_->dir, s, "read failed");
  return value;
}

void RocksStore::Scan(Column c, std::string_view prefix, std::string_view start,
                      const std::function<bool(std::string_view, std::string_view)>& visit) {
  if (!impl_->cf(c)) return;
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(c)));
  std::string_view from = start < prefix ? prefix : start;
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix) break;
    if (!visit(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) Throw(impl_->dir, it->status(), "read failed");
}

// Whether SST file `name` is still one of the database's live files.
bool RocksStore::StillLive(const std::string& name) {
  std::vector<rocksdb::LiveFileMetaData> files;
  impl_->db->GetLiveFilesMetaData(&files);
  for (const auto& f : files) {
    if (f.name == name) return true;
  }
  return false;
}

std::vector<std::string> RocksStore::CheckFiles(std::optional<Column> c) {
  std::vector<rocksdb::LiveFileMetaData> files;
  impl_->db->GetLiveFilesMetaData(&files);
  std::vector<std::string> problems;
  rocksdb::Options options;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  for (const auto& f : files) {
    if (c && f.column_family_name != CfName(static_cast<int>(*c))) continue;
    {
      // SST files never change: one that passed is not read again by this
      // process (serve lists runs on every request; `verify` checks all).
      std::lock_guard<std::mutex> lock(verified_mu_);
      if (verified_.count(f.name)) continue;
    }
    const std::string path = f.db_path + f.name;
    rocksdb::Status s = rocksdb::VerifySstFileChecksum(options, rocksdb::EnvOptions(), ro, path);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(verified_mu_);
      verified_.insert(f.name);
    }
    std::error_code ec;
    if (!s.ok() && !std::filesystem::exists(path, ec) && (read_only() || !StillLive(f.name))) {
      continue;  // compacted away meanwhile (by this process's compaction, or the holder's)
    }
    if (!s.ok()) {
      problems.push_back("damaged file " + std::filesystem::path(path).filename().string() + " (the " + f.column_family_name +
                         " column): " + s.ToString());
    }
  }
  return problems;
}

std::optional<std::string> RocksStore::LastKey(Column c, std::string_view prefix) {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(c)));
  std::string upper(prefix);
  upper.append(9, '\xff');
  it->SeekForPrev(upper);
  if (!it->status().ok()) Throw(impl_->dir, it->status(), "read failed");
  if (!it->Valid()) return std::nullopt;
  std::string_view k(it->key().data(), it->key().size());
  if (k.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::string(k);
}

}  // namespace aos
